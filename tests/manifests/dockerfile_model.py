"""Read a Dockerfile into stages and instructions, enough to check it.

Handles what the project's Dockerfiles use: parser directives and comments, line continuations,
global ARGs substituted into FROM, ENV (key=value form), COPY [--from=stage], RUN, EXPOSE,
exec-form ENTRYPOINT/CMD, USER, WORKDIR. No Docker engine is involved.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = REPO_ROOT / "Dockerfiles"
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]
    destination: str  # absolute, resolved against WORKDIR
    from_stage: str | None


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, keyword: str) -> list[Instruction]:
        return [item for item in self.instructions if item.keyword == keyword]

    def env(self) -> dict[str, str]:
        """ENV of this stage, in order, with $VAR references to earlier values expanded."""
        values: dict[str, str] = {}
        for item in self.of("ENV"):
            for token in shlex.split(item.arguments):
                name, separator, value = token.partition("=")
                if not separator:
                    raise ValueError(f"line {item.line}: use the ENV key=value form")
                values[name] = _substitute(value, values, keep_unknown=True)
        return values

    def workdirs(self) -> list[tuple[int, str]]:
        """(position in instructions, absolute WORKDIR) pairs."""
        current = "/"
        result = []
        for index, item in enumerate(self.instructions):
            if item.keyword == "WORKDIR":
                current = posixpath.normpath(posixpath.join(current, item.arguments.strip()))
                result.append((index, current))
        return result

    def workdir_at(self, position: int) -> str:
        current = "/"
        for index, directory in self.workdirs():
            if index < position:
                current = directory
        return current

    @property
    def workdir(self) -> str:
        return self.workdir_at(len(self.instructions))

    def copies(self) -> list[Copy]:
        result = []
        for index, item in enumerate(self.instructions):
            if item.keyword != "COPY":
                continue
            tokens = shlex.split(item.arguments)
            flags = [token for token in tokens if token.startswith("--")]
            paths = [token for token in tokens if not token.startswith("--")]
            from_stage = next(
                (flag.split("=", 1)[1] for flag in flags if flag.startswith("--from=")), None
            )
            destination = posixpath.normpath(posixpath.join(self.workdir_at(index), paths[-1]))
            if paths[-1].endswith("/"):
                destination += "/"
            result.append(Copy(tuple(paths[:-1]), destination, from_stage))
        return result

    def exec_form(self, keyword: str) -> list[str] | None:
        items = self.of(keyword)
        if not items:
            return None
        value = json.loads(items[-1].arguments)
        if not (isinstance(value, list) and all(isinstance(part, str) for part in value)):
            raise ValueError(f"{keyword} must be a JSON array of strings (exec form)")
        return value

    def exposed_ports(self) -> list[int]:
        ports = []
        for item in self.of("EXPOSE"):
            for token in item.arguments.split():
                ports.append(int(token.split("/")[0]))
        return ports

    def user(self) -> str | None:
        items = self.of("USER")
        return items[-1].arguments.strip() if items else None


@dataclass
class Dockerfile:
    path: Path
    global_args: dict[str, str]
    stages: list[Stage]
    directives: dict[str, str]

    @property
    def image(self) -> str:
        """The image name this Dockerfile builds: its file name without `.Dockerfile`."""
        return self.path.name.removesuffix(".Dockerfile")

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, name: str) -> Stage:
        return next(stage for stage in self.stages if stage.name == name)

    def copied_sources(self) -> list[str]:
        """Every build-context path copied by any stage."""
        return [
            source
            for stage in self.stages
            for copy in stage.copies()
            if copy.from_stage is None
            for source in copy.sources
        ]

    def context_path_of(self, stage: Stage, container_path: str) -> Path | None:
        """The build-context file a stage's COPY put at `container_path`, if any."""
        for copy in stage.copies():
            if copy.from_stage is not None:
                continue
            for source in copy.sources:
                target = copy_target(copy, source)
                if container_path == target:
                    return REPO_ROOT / source
                if container_path.startswith(target.rstrip("/") + "/"):
                    return REPO_ROOT / source / container_path[len(target.rstrip("/")) + 1 :]
        return None


def parse(path: Path) -> Dockerfile:
    directives: dict[str, str] = {}
    logical: list[tuple[int, str]] = []
    buffer, start, in_header = "", 0, True
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        stripped = raw.strip()
        if in_header and (match := re.match(r"#\s*(\w+)\s*=\s*(\S+)\s*$", stripped)):
            directives[match.group(1).lower()] = match.group(2)
            continue
        in_header = False
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        logical.append((start, buffer))
        buffer = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line, text in logical:
        keyword, _, arguments = text.partition(" ")
        keyword = keyword.upper()
        arguments = arguments.strip()
        if keyword == "ARG" and not stages:
            name, _, default = arguments.partition("=")
            global_args[name] = default
        elif keyword == "FROM":
            tokens = arguments.split()
            base = _substitute(tokens[0], global_args, keep_unknown=False)
            name = tokens[2] if len(tokens) >= 3 and tokens[1].upper() == "AS" else None
            stages.append(Stage(base=base, name=name))
        else:
            if not stages:
                raise ValueError(f"{path}:{line}: {keyword} before the first FROM")
            stages[-1].instructions.append(Instruction(keyword, arguments, line))
    return Dockerfile(path=path, global_args=global_args, stages=stages, directives=directives)


def all_dockerfiles() -> list[Dockerfile]:
    return [parse(path) for path in sorted(DOCKERFILES.glob("*.Dockerfile"))]


def shell_commands(run: Instruction) -> list[list[str]]:
    """A RUN line split on `&&` into argument vectors."""
    return [shlex.split(part) for part in run.arguments.split("&&") if part.strip()]


@dataclass(frozen=True)
class PipInstall:
    requirement_files: tuple[str, ...]  # container paths
    flags: tuple[str, ...]
    interpreter: str


def pip_installs(stage: Stage) -> list[PipInstall]:
    """The `<python> -m pip install` / `<venv>/bin/pip install` commands of a stage."""
    installs = []
    for run in stage.of("RUN"):
        for argv in shell_commands(run):
            if "install" not in argv:
                continue
            position = argv.index("install")
            program = argv[:position]
            if not program or not (program[-1].endswith("pip") or program[-2:] == ["-m", "pip"]):
                continue
            rest = argv[position + 1 :]
            files, flags = [], []
            iterator = iter(rest)
            for token in iterator:
                if token in ("-r", "--requirement"):
                    workdir = stage.workdir_at(_index(stage, run))
                    files.append(posixpath.normpath(posixpath.join(workdir, next(iterator))))
                elif token.startswith("-"):
                    flags.append(token)
                else:
                    raise ValueError(f"line {run.line}: pip installs {token!r} outside a lock file")
            installs.append(PipInstall(tuple(files), tuple(flags), program[0]))
    return installs


def _index(stage: Stage, instruction: Instruction) -> int:
    return stage.instructions.index(instruction)


def copy_target(copy: Copy, source: str) -> str:
    """Where COPY puts one of its sources."""
    if copy.destination.endswith("/") or len(copy.sources) > 1:
        return posixpath.join(copy.destination, posixpath.basename(source.rstrip("/")))
    return copy.destination


def _substitute(value: str, variables: dict[str, Any], keep_unknown: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in variables:
            return str(variables[name])
        if keep_unknown:
            return match.group(0)
        raise KeyError(f"undefined build variable ${name}")

    return _VARIABLE.sub(replace, value)
