"""deploy/compose.yaml against the documented settings: every node on the one database and the one bus, the
nodes believing forwarded headers from nginx's address only, nginx setting those headers itself and sending to
every node, only nginx reachable from outside, no secret in the file, every setting documented. Where Docker
Compose can run, `docker compose config` accepts the file too."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE_TEXT = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
NGINX = (DEPLOY / "compose" / "nginx.conf").read_text(encoding="utf-8")
OPERATIONS = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
README = (DEPLOY / "README.md").read_text(encoding="utf-8")


def parse_yaml(text: str) -> Any:
    """The block YAML compose.yaml is written in (maps, lists, scalars, JSON-style flow lists): no YAML library
    is among the dependencies, and the file keeps to this on purpose."""
    lines = [(len(line) - len(line.lstrip(" ")), line.strip()) for line in text.splitlines()
             if line.strip() and not line.strip().startswith("#")]

    def scalar(value: str) -> Any:
        if value.startswith("["):
            return json.loads(value)
        return value[1:-1] if value[:1] in "\"'" and value[-1:] == value[:1] else value

    def block(i: int, indent: int) -> tuple[Any, int]:
        if lines[i][1].startswith("- "):
            items = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                rest = lines[i][1][2:]
                if re.match(r"^[\w.-]+:( |$)", rest):  # a map as a list item
                    lines[i] = (indent + 2, rest)
                    item, i = block(i, indent + 2)
                else:
                    item, i = scalar(rest), i + 1
                items.append(item)
            return items, i
        mapping: dict[str, Any] = {}
        while i < len(lines) and lines[i][0] == indent:
            key, _, value = lines[i][1].partition(":")
            value = value.strip()
            if value:
                mapping[key], i = scalar(value), i + 1
            elif i + 1 < len(lines) and lines[i + 1][0] > indent:
                mapping[key], i = block(i + 1, lines[i + 1][0])
            else:
                mapping[key], i = None, i + 1
        return mapping, i

    return block(0, 0)[0]


COMPOSE = parse_yaml(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
NODES = {name: s for name, s in SERVICES.items() if s.get("image") == "samtal:local"}


def test_two_samtal_nodes_share_one_database_and_one_bus() -> None:
    assert len(NODES) >= 2
    databases = {node["environment"]["SAMTAL_DATABASE_URL"] for node in NODES.values()}
    buses = {node["environment"]["SAMTAL_BUS_URL"] for node in NODES.values()}
    assert len(databases) == 1 and len(buses) == 1
    assert re.fullmatch(r"postgresql://samtal:\$\{SAMTAL_DB_PASSWORD\}@postgres:5432/samtal", databases.pop())
    assert buses.pop() == "nats://nats:4222" and "4222" in " ".join(SERVICES["nats"]["command"])
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    # Each node its own data folder (a node locks its folder); the image's folder is /data.
    volumes = [node["volumes"][0].split(":")[0] for node in NODES.values()]
    assert len(set(volumes)) == len(volumes) and all(v.split(":")[1] == "/data" for n in NODES.values()
                                                     for v in n["volumes"])
    for node in NODES.values():
        assert "/readyz" in " ".join(node["healthcheck"]["test"])


def test_the_nodes_believe_forwarded_headers_from_nginx_only() -> None:
    nginx_address = SERVICES["nginx"]["networks"]["samtal"]["ipv4_address"]
    subnet = COMPOSE["networks"]["samtal"]["ipam"]["config"][0]["subnet"]
    assert nginx_address.rsplit(".", 1)[0] == subnet.split("/")[0].rsplit(".", 1)[0]
    for node in NODES.values():
        assert node["environment"]["SAMTAL_TRUSTED_PROXIES"] == nginx_address
        assert "ports" not in node  # reached through nginx only
    assert [name for name, s in SERVICES.items() if "ports" in s] == ["nginx"]
    assert SERVICES["nginx"]["ports"] == ["443:443"]


def test_nginx_sets_the_proxy_headers_itself_and_sends_to_every_node() -> None:
    upstream = re.search(r"upstream samtal \{(.*?)\}", NGINX, re.S)
    assert upstream is not None
    assert sorted(re.findall(r"server (\w+):8000", upstream.group(1))) == sorted(NODES)
    assert "$proxy_add_x_forwarded_for" not in NGINX
    for header in ('X-Forwarded-For $remote_addr;', 'X-Forwarded-Proto $scheme;', 'Forwarded "";'):
        assert NGINX.count(f"proxy_set_header {header}") == 2, header  # the server's and the WebSocket location's
    assert re.search(r"location = /metrics \{\s*return 404;", NGINX)
    assert "access_log off;" in NGINX and 'proxy_set_header Upgrade $http_upgrade;' in NGINX
    mounted = [v for v in SERVICES["nginx"]["volumes"] if v.endswith("/etc/nginx/conf.d/default.conf:ro")]
    assert mounted and (DEPLOY / mounted[0].split(":")[0]).resolve() == (DEPLOY / "compose" / "nginx.conf").resolve()


def test_no_secret_in_the_file_and_every_setting_documented() -> None:
    assert SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${SAMTAL_DB_PASSWORD")
    for name in set(re.findall(r"\b(SAMTAL_[A-Z_]+)\b", COMPOSE_TEXT)):
        assert f"`{name}`" in OPERATIONS or f"`{name}=" in README, name
    for name in set(re.findall(r"\$\{(\w+)", COMPOSE_TEXT)):
        assert f"`{name}=" in README, name  # what the operator puts in .env


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("Docker Compose is not available on this machine")
    env_file = tmp_path / ".env"
    env_file.write_text("SAMTAL_DB_PASSWORD=x\nSAMTAL_PUBLIC_URL=https://samtal.example\nSAMTAL_TLS_DIR=/tmp\n")
    done = subprocess.run([docker, "compose", "--env-file", str(env_file), "-f", str(DEPLOY / "compose.yaml"),
                           "config", "--quiet"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
