"""`perceive doctor`: is this device ready to run the daemon? Says what is wrong and how to fix it."""
from __future__ import annotations

import json
import os
from dataclasses import asdict

DEFAULT_CONFIG = "/etc/perceive/perceive.toml"
MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check camera, microphone, providers, models, permissions, disk",
                       description="Check everything the daemon needs for CONFIG: the config itself, the "
                                   "execution providers, every stage's model and contract, cameras, "
                                   "microphones, serial sensors, permissions and free space. Each problem "
                                   "comes with a fix. Exit code 1 when anything fails. Run it as the "
                                   "service user: sudo -u perceive perceive doctor.")
    p.add_argument("--config", help=f"TOML config file (default {DEFAULT_CONFIG} when it exists)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from pipeline.daemon.doctor import run_checks
    config = args.config
    if config is None and os.path.exists(DEFAULT_CONFIG):
        config = DEFAULT_CONFIG
    findings = run_checks(config, args.set, default=DEFAULT_CONFIG)
    if args.json:
        print(json.dumps([asdict(f) for f in findings], indent=1))
    else:
        for f in findings:
            print(f"{MARK[f.level]} {f.check:12s} {f.message}")
            if f.fix:
                print(f"     {'':12s} fix: {f.fix}")
        failed = sum(f.level == "fail" for f in findings)
        warned = sum(f.level == "warn" for f in findings)
        print(f"\n{failed} problem(s), {warned} warning(s)")
    return 1 if any(f.level == "fail" for f in findings) else 0
