"""`perceive validate CONFIG`: check a config file; `--reference` documents every key."""
from __future__ import annotations

import json

from pipeline.config.loader import describe, to_dict


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a config file and print the resolved config",
                       description="Load CONFIG with any --set overrides, reject unknown keys and wrong "
                                   "types by name, and print the resolved config as JSON. With "
                                   "--reference, print every config key with its type, default and meaning.")
    p.add_argument("config", nargs="?", help="TOML config file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key, e.g. --set engine.providers='[\"cuda\",\"cpu\"]'")
    p.add_argument("--reference", action="store_true", help="print every config key and what it means")
    p.set_defaults(func=run)


def run(args) -> int:
    from pipeline.config.tree import Config, load_config
    from pipeline.errors import ConfigError
    from pipeline.runtime.stage import STAGES
    from pipeline.sources.base import SOURCES
    if args.reference:
        print_reference(Config, SOURCES, STAGES)
        return 0
    if not args.config:
        raise ConfigError("perceive validate: give a CONFIG file (or --reference)")
    config = load_config(args.config, args.set, require_pipelines=True)
    print(json.dumps(to_dict(config), indent=2))
    print(f"{args.config}: OK ({len(config.pipelines)} pipeline(s))")
    return 0


def print_reference(root, *registries) -> None:
    for key, tp, default, doc in describe(root):
        print(f"{key:40s} {tp:22s} {default:14s} {doc}")
    for registry in registries:
        for name, (cfg_cls, _) in sorted(registry.entries.items()):
            print(f"\n[{registry.kind} type = \"{name}\"]")
            for key, tp, default, doc in describe(cfg_cls):
                if key != "type":
                    print(f"  {key:38s} {tp:22s} {default:14s} {doc}")
