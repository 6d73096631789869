"""The deploy kit (issue 21) passes the checks of the tools that will run it: `nginx -t`
with a test certificate, `systemd-analyze verify`, `caddy validate`, `tor --verify-config`
(Debian's packages, installed by `make deploy-tools`, which `make test` runs; Tor is never
started: `--verify-config` only reads the file), and the container files keep their
promises (non-root, read-only root, data on a volume, healthcheck). Each check is also run
on a broken copy, so that a tool which accepted anything would fail the test."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
HARDENING = ("ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
             "CapabilityBoundingSet=", "SystemCallFilter=@system-service", "MemorySwapMax=0",
             "LimitCORE=0", "ProtectHome=yes", "RestrictAddressFamilies=")


def _tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists()
                                  else None)
    assert path, f"{name} is not installed: `make deploy-tools` installs Debian's package"
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


# ---------------------------------------------------------------- nginx

def _nginx_tree(tmp_path: Path, sites: dict[str, str]) -> Path:
    """A throwaway nginx prefix holding the shipped sites with a test certificate."""
    certs = tmp_path / "certs"
    certs.mkdir()
    made = _run(_tool("openssl"), "req", "-x509", "-newkey", "ed25519", "-nodes",
                "-keyout", str(certs / "key.pem"), "-out", str(certs / "cert.pem"),
                "-days", "1", "-subj", "/CN=backup.test")
    assert made.returncode == 0, made.stderr
    (tmp_path / "logs").mkdir()
    includes = []
    for name, text in sites.items():
        text = re.sub(r"/etc/letsencrypt/live/[^/]+/fullchain\.pem", str(certs / "cert.pem"), text)
        text = re.sub(r"/etc/letsencrypt/live/[^/]+/privkey\.pem", str(certs / "key.pem"), text)
        text = text.replace("/var/log/nginx/", f"{tmp_path}/logs/")
        (tmp_path / name).write_text(text, encoding="utf-8")
        includes.append(f"  include {tmp_path / name};")
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\n"
                    "events {}\nhttp {\n" + "\n".join(includes) + "\n}\n", encoding="utf-8")
    return conf


def _nginx_t(conf: Path) -> subprocess.CompletedProcess[str]:
    return _run(_tool("nginx"), "-t", "-p", str(conf.parent), "-c", str(conf))


def _sites() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8")
            for p in sorted((DEPLOY / "nginx").glob("*.conf"))}


def test_the_shipped_nginx_sites_pass_nginx_t(tmp_path: Path) -> None:
    checked = _nginx_t(_nginx_tree(tmp_path, _sites()))
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def test_nginx_t_refuses_a_broken_site(tmp_path: Path) -> None:
    sites = _sites()
    sites["backup-node.conf"] = sites["backup-node.conf"].replace("proxy_pass", "proxy_passs", 1)
    assert _nginx_t(_nginx_tree(tmp_path, sites)).returncode != 0


def test_the_nginx_sites_log_no_access_and_keep_the_staff_office_off_the_public_host() -> None:
    node = (DEPLOY / "nginx" / "backup-node.conf").read_text(encoding="utf-8")
    for block in re.split(r"\nserver \{", node)[1:]:
        assert "access_log off;" in block
        if "proxy_pass http://127.0.0.1:8079" in block:  # the staff office
            assert "deny all;" in block and "allow " in block
        if "proxy_pass http://127.0.0.1:8080" in block:  # the reporting site
            assert "location /staff" in block and "return 404;" in block


# ---------------------------------------------------------------- systemd

def _unit_copy(tmp_path: Path, unit: Path, extra: str = "") -> Path:
    """The unit with its ExecStart pointed at this checkout's installed command, which
    `systemd-analyze verify` insists exists."""
    bindir = Path(sys.executable).parent
    text = unit.read_text(encoding="utf-8")
    text = text.replace("/opt/backup/.venv/bin/", f"{bindir}/") + extra
    out = tmp_path / unit.name
    out.write_text(text, encoding="utf-8")
    return out


@pytest.mark.parametrize("name", ["backup-node.service", "backup-observatory.service",
                                  "backup-node-backup.service"])
def test_the_units_pass_systemd_analyze_verify_with_every_hardening_option(
        tmp_path: Path, name: str) -> None:
    unit = DEPLOY / "systemd" / name
    text = unit.read_text(encoding="utf-8")
    for option in HARDENING:
        assert option in text, option
    checked = _run(_tool("systemd-analyze"), "verify", str(_unit_copy(tmp_path, unit)))
    assert checked.returncode == 0, checked.stderr
    # an unknown or misspelt option is only a warning: any output is a defect
    assert checked.stderr.strip() == "", checked.stderr


def test_the_backup_timer_verifies_and_runs_the_backup_service(tmp_path: Path) -> None:
    service = _unit_copy(tmp_path, DEPLOY / "systemd" / "backup-node-backup.service")
    timer = tmp_path / "backup-node-backup.timer"
    shutil.copy(DEPLOY / "systemd" / "backup-node-backup.timer", timer)
    checked = _run(_tool("systemd-analyze"), "verify", str(service), str(timer))
    assert checked.returncode == 0 and checked.stderr.strip() == "", checked.stderr
    assert "--keep 7" in service.read_text(encoding="utf-8")
    assert "Persistent=true" in timer.read_text(encoding="utf-8")


def test_systemd_analyze_notices_a_misspelt_option(tmp_path: Path) -> None:
    unit = _unit_copy(tmp_path, DEPLOY / "systemd" / "backup-node.service",
                      "\n[Service]\nProtectSystm=strict\n")
    assert "ProtectSystm" in _run(_tool("systemd-analyze"), "verify", str(unit)).stderr


# ---------------------------------------------------------------- Caddy

def _caddy_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return _run(_tool("caddy"), "validate", "--config", str(path), "--adapter", "caddyfile")


def test_the_caddyfile_validates_and_is_formatted(tmp_path: Path) -> None:
    caddyfile = DEPLOY / "caddy" / "Caddyfile"
    checked = _caddy_validate(caddyfile)
    assert checked.returncode == 0, checked.stderr
    assert '"level":"warn"' not in checked.stderr, checked.stderr
    formatted = _run(_tool("caddy"), "fmt", str(caddyfile))
    assert formatted.stdout == caddyfile.read_text(encoding="utf-8")
    broken = tmp_path / "Caddyfile"
    text = caddyfile.read_text(encoding="utf-8")
    broken.write_text(text.replace("reverse_proxy", "reverse_proxi"), encoding="utf-8")
    assert _caddy_validate(broken).returncode != 0


# ---------------------------------------------------------------- Tor

def _tor_verify(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    torrc = tmp_path / "torrc"
    torrc.write_text(text.replace("/var/lib/tor/", f"{tmp_path}/hs-"), encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir(exist_ok=True, mode=0o700)
    return _run(_tool("tor"), "--verify-config", "-f", str(torrc), "--defaults-torrc",
                "/dev/null", "--DataDirectory", str(data))


def test_the_reporter_and_staff_onion_services_verify(tmp_path: Path) -> None:
    both = "\n".join((DEPLOY / "tor" / name).read_text(encoding="utf-8")
                     for name in ("torrc-reporter.conf", "torrc-staff.conf"))
    checked = _tor_verify(tmp_path, both)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Configuration was valid" in checked.stdout
    # two services: the staff office never shares the reporter's onion address
    dirs = re.findall(r"^HiddenServiceDir (\S+)", both, flags=re.M)
    assert len(set(dirs)) == 2
    assert "127.0.0.1:8079" in (DEPLOY / "tor" / "torrc-staff.conf").read_text(encoding="utf-8")
    assert "8079" not in (DEPLOY / "tor" / "torrc-reporter.conf").read_text(encoding="utf-8")


def test_tor_refuses_a_broken_torrc(tmp_path: Path) -> None:
    assert _tor_verify(tmp_path, "HiddenServicePort eighty 127.0.0.1:8080\n").returncode != 0


# ---------------------------------------------------------------- containers

def _final_stage(containerfile: str) -> list[str]:
    lines = [ln.strip() for ln in containerfile.replace("\\\n", " ").splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    last_from = max(i for i, ln in enumerate(lines) if ln.upper().startswith("FROM "))
    return lines[last_from:]


def test_the_image_runs_as_a_non_root_user_with_data_on_a_volume_and_a_healthcheck() -> None:
    stage = _final_stage((DEPLOY / "container" / "Containerfile").read_text(encoding="utf-8"))
    users = [ln.split(None, 1)[1] for ln in stage if ln.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert any(ln.upper().startswith("VOLUME ") and "/data" in ln for ln in stage)
    probes = [ln for ln in stage if ln.upper().startswith("HEALTHCHECK ")]
    assert len(probes) == 1 and "HEALTH_URL" in probes[0]
    assert any(ln.startswith("ENV HEALTH_URL=") and ln.endswith("/healthz") for ln in stage)
    assert any(ln.upper().startswith("ENTRYPOINT ") and "backup-node" in ln for ln in stage)
    # nothing fetched at run time: no pip or curl in the command the container runs
    assert not any(re.search(r"\b(pip|curl|wget)\b", ln) for ln in stage
                   if ln.upper().startswith(("CMD ", "ENTRYPOINT ")))


def test_the_compose_file_starts_an_observatory_and_a_node_read_only_and_unprivileged() -> None:
    compose = yaml.safe_load((DEPLOY / "container" / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"observatory", "node"}
    assert services["observatory"]["entrypoint"] == ["backup-observatory"]
    for name, service in services.items():
        assert service["read_only"] is True, name
        assert str(service["user"]).split(":")[0] not in ("0", "root"), name
        assert any(v.endswith(":/data") for v in service["volumes"]), name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
    node_ports = services["node"]["ports"]
    # the staff office is published on the host's loopback only
    assert [p for p in node_ports if ":8079" in p] == ["127.0.0.1:8079:8079"]
    assert services["node"]["ulimits"]["core"] == 0
