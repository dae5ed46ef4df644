#!/usr/bin/env bash
# Remove the perceive service and its virtual environment.
#   sudo deploy/uninstall.sh            keeps /etc/perceive (config) and /var/lib/perceive (face templates)
#   sudo deploy/uninstall.sh --purge    removes those too, and the perceive user
source "$(dirname "$0")/install-common.sh"
require_root
systemctl disable --now perceive.service 2>/dev/null || true
rm -f "$UNIT_DIR/perceive.service" /usr/local/bin/perceive
rm -rf "$UNIT_DIR/perceive.service.d" "$PREFIX"
systemctl daemon-reload
if [ "${1:-}" = "--purge" ]; then
    rm -rf "$CONFIG_DIR" /var/lib/perceive /var/cache/perceive
    rm -f /usr/lib/sysusers.d/perceive.conf
    userdel perceive 2>/dev/null || true
    say "removed perceive, its config, state and user"
else
    say "removed perceive; kept $CONFIG_DIR and /var/lib/perceive (use --purge to delete them)"
fi
