"""`arrears images build`: one container image per service from deploy/Dockerfile.

The base image is the Dockerfile's default (the official slim Python image) when it is present
or can be pulled; on a machine that cannot pull public images, a base with Debian's python3 is
made from the Debian mirror this host's apt uses (debootstrap, as root) and kept under a tag
derived from its recipe, so it is made once. Builds use BuildKit: the wheels are downloaded
into a build cache shared by every service, and a CA bundle (a proxy that re-signs TLS) is
passed as the build secret `ca-bundle`, never stored in an image.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from arrears.cli.stack import SERVICES

DEFAULT_BASE = "python:3.12-slim"
"""The Dockerfile's own default (ARG BASE_IMAGE): what production images are built on."""
DEFAULT_TAG = "local"
SERVICE_NAMES = tuple(name for name, _ in SERVICES)
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = ("python3", "python3-venv", "ca-certificates")
DEBIAN_RECIPE = 1
"""Bump when the way the Debian base is made changes: its tag changes and it is made again."""
BUILDKIT_CLIENT_BEFORE = (23,)
"""Docker clients older than 23 build with the engine's own BuildKit (DOCKER_BUILDKIT=1);
newer ones need the buildx plugin for it."""

Report = Callable[[str], None]


class ImageError(RuntimeError):
    """An image could not be built; the message says what to do."""


@dataclass(frozen=True)
class Docker:
    """A Docker client that can reach an engine, and how it builds with BuildKit."""

    client: str
    build: tuple[str, ...]
    env: dict[str, str]

    def run(
        self, *args: str, check: bool = True, capture: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.client, *args],
            env=self.env,
            check=check,
            capture_output=capture,
            text=True,
            timeout=timeout,
        )

    def has_image(self, name: str) -> bool:
        return self.run("image", "inspect", name, check=False).returncode == 0


@dataclass(frozen=True)
class BuiltImage:
    service: str
    name: str
    seconds: float
    size_bytes: int


def image_name(service: str, tag: str = DEFAULT_TAG) -> str:
    return f"arrears-{service}:{tag}"


def _clients() -> list[str]:
    found = [os.environ.get("ARREARS_DOCKER", "")]
    found += [str(Path(d) / "docker") for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    seen: list[str] = []
    for candidate in found:
        if candidate and os.access(candidate, os.X_OK) and candidate not in seen:
            seen.append(candidate)
    return seen


def _client_version(client: str) -> tuple[int, ...]:
    out = subprocess.run(
        [client, "version", "--format", "{{.Client.Version}}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return tuple(int(part) for part in re.findall(r"\d+", out)[:2])


def find_docker() -> tuple[Docker | None, str]:
    """The first client on PATH (or ARREARS_DOCKER) that reaches an engine and can build with
    BuildKit; else None and why not."""
    clients = _clients()
    if not clients:
        return None, "no docker client on PATH (Debian: apt-get install docker.io)"
    reasons = []
    for client in clients:
        env = dict(os.environ)
        info = subprocess.run(
            [client, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if info.returncode != 0 or not info.stdout.strip():
            reasons.append(f"{client}: no engine ({(info.stderr or info.stdout).strip()[:200]})")
            continue
        buildx = subprocess.run(
            [client, "buildx", "version"], capture_output=True, env=env, check=False
        )
        if buildx.returncode == 0:
            return Docker(client, ("buildx", "build", "--load"), env), ""
        if (0,) < _client_version(client) < BUILDKIT_CLIENT_BEFORE:
            return Docker(client, ("build",), {**env, "DOCKER_BUILDKIT": "1"}), ""
        reasons.append(f"{client}: no BuildKit (install the buildx plugin)")
    return None, "; ".join(reasons)


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this host's apt uses (one-line or deb822 sources)."""
    sources = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        candidates = re.findall(r"^deb\s+(?:\[[^]]*]\s+)?(\S+)\s", text, flags=re.M)
        candidates += [
            uri for line in re.findall(r"^URIs:\s*(.+)$", text, flags=re.M) for uri in line.split()
        ]
        for uri in candidates:
            if not re.search(r"security|updates|backports", uri):
                return str(uri).rstrip("/")
    return "http://deb.debian.org/debian"


def debian_base_tag() -> str:
    """The Debian base's name: a digest of its recipe, so a changed recipe makes a new one."""
    recipe = f"{DEBIAN_SUITE} {' '.join(DEBIAN_PACKAGES)} {DEBIAN_RECIPE}"
    return f"arrears-base:{DEBIAN_SUITE}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def make_debian_base(docker: Docker, cache_dir: Path, report: Report) -> str:
    """A minimal Debian with python3 from the host's mirror, imported as an image (once)."""
    tag = debian_base_tag()
    if docker.has_image(tag):
        report(f"base image {tag} present")
        return tag
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None or os.geteuid() != 0:
        raise ImageError(
            f"{DEFAULT_BASE} cannot be pulled here and making a Debian base needs root and "
            "debootstrap (apt-get install debootstrap); or pass --base IMAGE"
        )
    mirror = debian_mirror()
    debs = (cache_dir / "debootstrap").resolve()
    debs.mkdir(parents=True, exist_ok=True)
    report(f"making base image {tag} from {mirror} (debootstrap {DEBIAN_SUITE}) ...")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="arrears-base-", dir=cache_dir) as tmp:
        root = Path(tmp) / "root"
        subprocess.run(
            [
                debootstrap,
                "--variant=minbase",
                f"--include={','.join(DEBIAN_PACKAGES)}",
                f"--cache-dir={debs}",
                DEBIAN_SUITE,
                str(root),
                mirror,
            ],
            check=True,
            capture_output=True,
        )
        for leftover in ("var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man"):
            shutil.rmtree(root / leftover, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            [
                docker.client,
                "import",
                "--change",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                "ENV LANG=C.UTF-8",
                "--change",
                'CMD ["python3"]',
                "-",
                tag,
            ],
            stdin=tar.stdout,
            env=docker.env,
            check=True,
            capture_output=True,
        )
        if tar.wait() != 0:
            raise ImageError("tar of the Debian root failed")
    report(f"base image {tag} made in {time.monotonic() - started:.0f}s")
    return tag


def choose_base(docker: Docker, cache_dir: Path, report: Report) -> str:
    """The default base when present or pullable, else one made from the Debian mirror."""
    if docker.has_image(DEFAULT_BASE):
        return DEFAULT_BASE
    pulled = docker.run("pull", "-q", DEFAULT_BASE, check=False, timeout=600)
    if pulled.returncode == 0:
        return DEFAULT_BASE
    report(f"{DEFAULT_BASE} cannot be pulled ({pulled.stderr.strip()[:160]})")
    return make_debian_base(docker, cache_dir, report)


def build_images(
    docker: Docker,
    root: Path,
    *,
    base: str,
    services: Sequence[str],
    tag: str = DEFAULT_TAG,
    ca_bundle: Path | None = None,
    report: Report = print,
) -> list[BuiltImage]:
    """Build every named service's image, one after the other (they share the first stages
    and the wheel cache, so the first build pays for the downloads)."""
    ports = dict(SERVICES)
    built = []
    for service in services:
        name = image_name(service, tag)
        command = [
            docker.client,
            *docker.build,
            "--network",
            "host",
            "--file",
            str(root / "deploy" / "Dockerfile"),
            "--build-arg",
            f"BASE_IMAGE={base}",
            "--build-arg",
            f"SERVICE={service}",
            "--build-arg",
            f"HTTP_PORT={ports[service]}",
            "--tag",
            name,
        ]
        if ca_bundle is not None:
            command += ["--secret", f"id=ca-bundle,src={ca_bundle}"]
        started = time.monotonic()
        result = subprocess.run(
            [*command, str(root)], env=docker.env, capture_output=True, text=True, check=False
        )
        seconds = time.monotonic() - started
        if result.returncode != 0:
            raise ImageError(f"building {name} failed:\n{(result.stderr or result.stdout)[-4000:]}")
        size = int(docker.run("image", "inspect", "--format", "{{.Size}}", name).stdout.strip())
        report(f"{name} built in {seconds:.0f}s ({size / 1e6:.0f} MB)")
        built.append(BuiltImage(service, name, seconds, size))
    return built


def default_ca_bundle() -> Path | None:
    """ARREARS_CA_BUNDLE (empty: none), else the host's Debian bundle when present."""
    configured = os.environ.get("ARREARS_CA_BUNDLE")
    if configured is not None:
        return Path(configured) if configured else None
    return HOST_CA_BUNDLE if HOST_CA_BUNDLE.is_file() else None


def build_all(
    root: Path,
    cache_dir: Path,
    *,
    services: Sequence[str] = SERVICE_NAMES,
    base: str | None = None,
    tag: str = DEFAULT_TAG,
    ca_bundle: Path | None = None,
    report: Report = print,
) -> list[BuiltImage]:
    docker, why = find_docker()
    if docker is None:
        raise ImageError(f"no usable Docker engine: {why}")
    chosen = base or choose_base(docker, cache_dir, report)
    report(f"building {len(services)} image(s) on {chosen} with {docker.client}")
    return build_images(
        docker, root, base=chosen, services=services, tag=tag, ca_bundle=ca_bundle, report=report
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="images_command", required=True, metavar="ACTION")
    build = sub.add_parser("build", help="build one image per service (deploy/Dockerfile)")
    build.add_argument(
        "service", nargs="*", help=f"{', '.join(SERVICE_NAMES)} (default: every service)"
    )
    build.add_argument("--tag", default=DEFAULT_TAG, help=f"image tag (default: {DEFAULT_TAG})")
    build.add_argument(
        "--base",
        help=f"base image (default: {DEFAULT_BASE} when it can be pulled, else one made "
        "from this host's Debian mirror)",
    )
    build.add_argument(
        "--ca-bundle",
        help="PEM bundle pip and uv trust during the build (build secret ca-bundle); "
        f"default: ARREARS_CA_BUNDLE or {HOST_CA_BUNDLE}; '' for none",
    )


def run(args: argparse.Namespace, root: Path, cache_dir: Path) -> int:
    unknown = sorted(set(args.service) - set(SERVICE_NAMES))
    if unknown:
        print(f"unknown service(s): {', '.join(unknown)}", flush=True)
        return 2
    if args.ca_bundle is None:
        ca_bundle = default_ca_bundle()
    else:
        ca_bundle = Path(args.ca_bundle) if args.ca_bundle else None
    try:
        built = build_all(
            root,
            cache_dir,
            services=args.service or SERVICE_NAMES,
            base=args.base,
            tag=args.tag,
            ca_bundle=ca_bundle,
            report=lambda message: print(f"arrears | {message}", flush=True),
        )
    except ImageError as exc:
        print(f"arrears | {exc}", flush=True)
        return 1
    total = sum(image.seconds for image in built)
    print(f"arrears | {len(built)} image(s) built in {total:.0f}s", flush=True)
    return 0
