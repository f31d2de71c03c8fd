"""The users and groups a well-known base image surely has (PY227 ``chown-unknown-user``),
and the tools that create more."""

from __future__ import annotations

from uvdock.lint.rules.images import UV_IMAGE, image_libc, registry_of, split_image

DEBIAN_USERS = frozenset({
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp",
    "proxy", "www-data", "backup", "list", "irc", "gnats", "nobody", "_apt", "messagebus",
    "systemd-network", "systemd-resolve", "systemd-timesync", "ubuntu",
})  # fmt: skip
DEBIAN_GROUPS = DEBIAN_USERS | frozenset({
    "adm", "tty", "disk", "kmem", "dialout", "fax", "voice", "cdrom", "floppy", "tape", "sudo",
    "audio", "dip", "operator", "src", "shadow", "utmp", "video", "sasl", "plugdev", "staff",
    "users", "nogroup", "systemd-journal", "crontab", "input", "sgx", "clock", "kvm", "render",
    "netdev", "_ssh",
})  # fmt: skip
ALPINE_USERS = frozenset({
    "root", "bin", "daemon", "adm", "lp", "sync", "shutdown", "halt", "mail", "news", "uucp",
    "operator", "man", "postmaster", "cron", "ftp", "sshd", "at", "squid", "xfs", "games",
    "cyrus", "vpopmail", "ntp", "smmsp", "guest", "nobody",
})  # fmt: skip
ALPINE_GROUPS = ALPINE_USERS | frozenset({
    "sys", "tty", "disk", "mem", "kmem", "wheel", "floppy", "console", "audio", "cdrom",
    "dialout", "input", "tape", "video", "netdev", "kvm", "shadow", "www-data", "users",
    "utmp", "ping", "nogroup", "abuild", "cdrw", "usb", "locate", "readproc", "nofiles",
})  # fmt: skip
DISTROLESS_USERS = frozenset({"root", "nobody", "nonroot"})
DISTROLESS_GROUPS = DISTROLESS_USERS | frozenset({"tty", "staff"})
ACCOUNT_TOOLS = ("useradd", "adduser", "groupadd", "addgroup", "usermod", "groupmod", "newusers")
PACKAGE_TOOLS = ("apt-get", "apt", "apk", "dnf", "yum", "microdnf")


def image_accounts(image: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(users, groups) a well-known base image surely has; None for any other image."""
    repo, tag, _ = split_image(image)
    repo = repo.lower().removeprefix("docker.io/").removeprefix("library/")
    libc = image_libc(image)
    if repo.startswith("gcr.io/distroless/"):
        return DISTROLESS_USERS, DISTROLESS_GROUPS
    family = None
    if registry_of(image) == "docker.io" and repo in ("python", "debian", "ubuntu", "alpine"):
        family = "alpine" if repo == "alpine" or libc == "musl" else "debian"
        if repo == "python" and libc is None:
            family = None  # python:windowsservercore and tags that do not say
    elif repo == UV_IMAGE and tag is not None and libc is not None:
        family = "alpine" if libc == "musl" else "debian"
    if family == "debian":
        return DEBIAN_USERS, DEBIAN_GROUPS
    if family == "alpine":
        return ALPINE_USERS, ALPINE_GROUPS
    return None
