"""Checks behind `perceive doctor`: each finding says what is wrong and how to fix it.

Checks: the config, execution providers, every configured stage with its model
contract (built exactly as the daemon builds it), cameras, microphones, serial
sensors, file permissions and free disk space.
"""
from __future__ import annotations

import grp
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

from pipeline.errors import PerceiveError

MIB = 2**20
FREE_WARN_MIB = 500   # a TensorRT engine cache or a day of logs needs about this much
FREE_FAIL_MIB = 50    # below this, saving face templates or engines fails
STATE_DIR = "/var/lib/perceive"
CAMERA_READ_ATTEMPTS = 5


@dataclass
class Finding:
    level: Literal["ok", "warn", "fail"]
    check: str
    message: str
    fix: str = ""


def ok(check: str, message: str) -> Finding:
    return Finding("ok", check, message)


def warn(check: str, message: str, fix: str) -> Finding:
    return Finding("warn", check, message, fix)


def fail(check: str, message: str, fix: str) -> Finding:
    return Finding("fail", check, message, fix)


def in_group(name: str) -> bool:
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        return False
    return gid in os.getgroups() or gid == os.getgid()


def device_access(check: str, path: str, group: str) -> Finding | None:
    """None when the device exists and is readable and writable by this user."""
    if not os.path.exists(path):
        return fail(check, f"{path} does not exist",
                    "plug the device in, check `ls /dev` and the kernel log (`dmesg | tail`), "
                    "or fix the path in the config")
    if not os.access(path, os.R_OK | os.W_OK):
        return fail(check, f"{path} exists but this user ({os.getuid()}) may not open it",
                    f"add the service user to the {group} group: sudo usermod -aG {group} perceive "
                    f"(group membership {'ok' if in_group(group) else 'missing'} for this user)")
    return None


def check_providers(config) -> Iterator[Finding]:
    from pipeline.engine import available_providers, runtime_version
    have = available_providers()
    wanted = config.engine.providers
    missing = [p for p in wanted if p not in have]
    if not missing:
        yield ok("providers", f"onnxruntime {runtime_version()} has {wanted} (first choice: {wanted[0]})")
        return
    fix = ("on a Jetson run deploy/install-jetson.sh (NVIDIA's onnxruntime-gpu); elsewhere pip install "
           "onnxruntime-gpu after uninstalling onnxruntime; or remove them from engine.providers")
    usable = [p for p in wanted if p in have]
    if config.engine.strict or not usable:
        yield fail("providers", f"{missing} unavailable (this build has {have}); strict mode refuses to start",
                   fix)
    else:
        yield warn("providers", f"{missing} unavailable (this build has {have}); models fall back to {usable[0]}",
                   fix)


def check_pipelines(config) -> Iterator[Finding]:
    """Build every stage as the daemon would: loads each model and checks its contract."""
    from pipeline.runtime.stage import StageEnv, build_stage
    for p in config.pipelines:
        if not p.enabled:
            continue
        env = StageEnv(config.engine, config.models.dirs, pipeline=p.name, source=p.source)
        for s in p.stages:
            where = f"pipeline {p.name} stage {s.name or s.type}"
            try:
                stage = build_stage(s, env)
            except PerceiveError as exc:
                yield fail("models", f"{where}: {exc}",
                           "install the model into a models.dirs folder, or fix the stage config "
                           "(`perceive models` lists what is installed)")
                continue
            engines = stage.engines()
            desc = ", ".join(f"{e.path.name} v{e.contract.version if e.contract else '?'} on {e.provider}"
                             for e in engines) or "no model"
            yield ok("models", f"{where}: {desc}")
            stage.close()


def check_sources(config) -> Iterator[Finding]:
    for p in config.pipelines:
        if not p.enabled:
            continue
        src, kind = p.source, p.source.type
        if kind == "video":
            yield from check_camera(p.name, src)
        elif kind == "microphone":
            yield from check_microphone(p.name, src)
        elif kind == "serial":
            problem = device_access("sensor", src.path, "dialout")
            if problem:
                problem.message = f"pipeline {p.name}: {problem.message}"
            yield problem or ok("sensor", f"pipeline {p.name}: {src.path} accessible")
        elif hasattr(src, "path") and not os.path.exists(src.path):
            yield fail("source", f"pipeline {p.name}: {kind} file {src.path} not found",
                       "fix source.path in the config")


def check_camera(pipeline: str, src) -> Iterator[Finding]:
    from pipeline.sources.video import is_device
    uri = src.uri
    if not is_device(uri):
        if "://" in uri or "!" in uri:
            yield ok("camera", f"pipeline {pipeline}: {uri} is a stream (not opened by doctor)")
        elif os.path.exists(uri):
            yield check_video_file(pipeline, uri)
        else:
            yield fail("camera", f"pipeline {pipeline}: video file {uri} not found", "fix source.uri")
        return
    path = f"/dev/video{uri}" if uri.isdigit() else uri
    problem = device_access("camera", path, "video")
    if problem:
        problem.message = f"pipeline {pipeline}: {problem.message}"
        yield problem
        return
    import cv2
    cap = cv2.VideoCapture(int(uri) if uri.isdigit() else uri)
    try:
        frame = None
        for _ in range(CAMERA_READ_ATTEMPTS if cap.isOpened() else 0):
            got, frame = cap.read()
            if got:
                break
        if frame is None:
            yield fail("camera", f"pipeline {pipeline}: {path} opens but gives no frames",
                       "another process may hold it (`fuser -v " + path + "`), or it is a metadata node: "
                       "try the other /dev/videoN of the same camera (`v4l2-ctl --list-devices`)")
        else:
            yield ok("camera", f"pipeline {pipeline}: {path} gives {frame.shape[1]}x{frame.shape[0]} frames")
    finally:
        cap.release()


def check_video_file(pipeline: str, path: str) -> Finding:
    """A local video file: `perceive run` stops on one it cannot open, so doctor opens it too."""
    import cv2
    if not os.path.isfile(path):
        return fail("camera", f"pipeline {pipeline}: video file {path} is not a file", "fix source.uri")
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            return fail("camera", f"pipeline {pipeline}: video file {path} cannot be opened (damaged, truncated "
                        "or not a video)", "fix source.uri, or check the file with `ffprobe`")
        return ok("camera", f"pipeline {pipeline}: video file {path} opens")
    finally:
        cap.release()


def check_microphone(pipeline: str, src) -> Iterator[Finding]:
    if not os.path.isdir("/dev/snd"):
        yield fail("microphone", f"pipeline {pipeline}: no /dev/snd (no sound card seen by the kernel)",
                   "plug in a USB microphone; `arecord -l` lists capture devices")
        return
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        yield fail("microphone", f"pipeline {pipeline}: sounddevice unusable: {exc}",
                   "sudo apt install libportaudio2 && pip install 'perceive[audio]'")
        return
    inputs = [d for d in sd.query_devices() if d["max_input_channels"] > 0]
    if not inputs:
        hint = "" if in_group("audio") else " and add the user to the audio group (usermod -aG audio perceive)"
        yield fail("microphone", f"pipeline {pipeline}: no capture device", "check `arecord -l`" + hint)
    elif src.device and not any(src.device in d["name"] for d in inputs) and not src.device.isdigit():
        names = ", ".join(d["name"] for d in inputs)
        yield fail("microphone", f"pipeline {pipeline}: no input device matches {src.device!r} (have: {names})",
                   "fix source.device in the config")
    else:
        yield ok("microphone", f"pipeline {pipeline}: {len(inputs)} capture device(s)")


def check_permissions(config, config_path: str) -> Iterator[Finding]:
    if config_path and not os.access(config_path, os.R_OK):
        yield fail("permissions", f"{config_path} is not readable", f"sudo chmod 0644 {config_path}")
    sock_dir = Path(config.daemon.events.path).parent
    if config.daemon.events.enabled:
        if not sock_dir.is_dir():
            yield warn("permissions", f"event socket directory {sock_dir} does not exist",
                       "systemd creates /run/perceive (RuntimeDirectory=); when running by hand set "
                       "daemon.events.path to a writable place")
        elif not os.access(sock_dir, os.W_OK):
            yield fail("permissions", f"cannot create the event socket in {sock_dir}",
                       "run as the perceive user under systemd, or change daemon.events.path")
    state = Path(os.environ.get("STATE_DIRECTORY", STATE_DIR))
    if state.is_dir() and not os.access(state, os.W_OK):
        yield fail("permissions", f"state directory {state} (face templates) is not writable",
                   f"sudo chown -R perceive:perceive {state}")
    for d in config.models.dirs:
        if Path(d).expanduser().is_dir() and not os.access(Path(d).expanduser(), os.R_OK | os.X_OK):
            yield fail("permissions", f"models directory {d} is not readable", f"sudo chmod o+rx {d}")
    if os.geteuid() == 0:
        yield warn("permissions", "running as root: results may differ for the perceive service user",
                   "run as the service user: sudo -u perceive perceive doctor --config ...")


def check_space(config) -> Iterator[Finding]:
    places = {Path(os.environ.get("STATE_DIRECTORY", STATE_DIR)),
              Path(config.engine.tensorrt.engine_cache_dir).expanduser(), Path("/tmp")}
    for place in sorted(places):
        existing = next((p for p in [place, *place.parents] if p.exists()), Path("/"))
        free = shutil.disk_usage(existing).free / MIB
        fix = f"free space on the file system of {existing} (`du -xh {existing} | sort -h | tail`)"
        if free < FREE_FAIL_MIB:
            yield fail("disk", f"{place}: only {free:.0f} MiB free", fix)
        elif free < FREE_WARN_MIB:
            yield warn("disk", f"{place}: {free:.0f} MiB free (< {FREE_WARN_MIB} MiB)", fix)
        else:
            yield ok("disk", f"{place}: {free / 1024:.1f} GiB free")


EXAMPLE_CONFIGS = "deploy/perceive.example.toml or deploy/configs/<device>.toml in the perceive repository"


def no_config(default: str) -> Finding:
    return fail("config", f"no config given (--config), and {default} does not exist",
                f"the install scripts (deploy/install-*.sh) create {default}; by hand, copy one of "
                f"{EXAMPLE_CONFIGS} there (sudo install -D -m 0644 EXAMPLE {default}) and check it with "
                "`perceive validate`; or pass --config FILE")


def run_checks(config_path: str | None, overrides: list[str], default: str = "") -> list[Finding]:
    """Every check for the config at ``config_path``; without one, the checks that need no config."""
    from pipeline.config.tree import Config, load_config
    if config_path is None:
        config = Config()
        return [no_config(default), *check_providers(config), *check_space(config)]
    if not os.path.exists(config_path):
        return [fail("config", f"{config_path} does not exist",
                     f"check the path, or copy one of {EXAMPLE_CONFIGS} there and check it with "
                     "`perceive validate`")]
    try:
        config = load_config(config_path, overrides, require_pipelines=True)
    except PerceiveError as exc:
        return [fail("config", str(exc), f"edit {config_path}; `perceive validate --reference` lists every key")]
    findings = [ok("config", f"{config_path}: valid, {len(config.pipelines)} pipeline(s)")]
    for check in (check_providers(config), check_pipelines(config), check_sources(config),
                  check_permissions(config, config_path), check_space(config)):
        findings.extend(check)
    return findings
