"""What an outside tester sends with plain HTTP and WebSocket clients, and what they get: typed 4xx answers for
bad JSON, numbers and strings on every input (never a 500), origins compared with their scheme, forwarded
headers believed only from the configured proxy (with Debian's nginx in front, when it is installed), HSTS
on an https site, and a data folder that only the server's user can read."""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from crypto.encoding import b64u
from web.app import create_app
from web.config import Settings
from web.sessions import COOKIE

from . import engines
from .conftest import ROOT, free_port, server_fixture, start_server, stop_server
from .helpers import CASE_DANA
from .waiting import eventually_blocking

# Few sign-ins a minute, to reach the limit quickly; no proxy is trusted (the default).
server = server_fixture(SAMTAL_LOGIN_RATE="3")
DEEP = "[" * 50_000


def signed_in(server: Any, username: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    assert client.post("/api/demo/login", json={"username": username}).status_code == 200
    return client


def raw_json(client: httpx.Client, method: str, path: str, text: str) -> httpx.Response:
    return client.request(method, path, content=text.encode("utf-8", "surrogatepass"),
                          headers={"content-type": "application/json"})


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text


# -- JSON, numbers and strings -------------------------------------------------------------------------------
def test_deeply_nested_json_to_the_exchange_is_a_400_without_signing_in(server: Any) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as anyone:
        assert_problem(raw_json(anyone, "POST", "/exchange/v1/messages", DEEP), 400, "json_too_deep")


def test_a_bearer_token_with_a_hostile_header_is_refused_as_a_token(server: Any) -> None:
    headers = [DEEP, json.dumps({"alg": "EdDSA", "kid": {"a": 1}}), '{"alg":"EdDSA","kid":"\\ud800"}',
               '{"kid": 123456789012345678901234567890}']
    with httpx.Client(base_url=server.url, timeout=30) as anyone:
        for header in headers:
            token = f"{b64u(header.encode('utf-8', 'surrogatepass'))}.{b64u(b'{}')}.{b64u(b'x' * 64)}"
            answer = anyone.get("/exchange/v1/messages", headers={"authorization": f"Bearer {token}"})
            assert_problem(answer, 401, "invalid_token")


def test_unpaired_surrogates_in_a_device_label_or_a_contact_are_a_400(server: Any) -> None:
    dana = signed_in(server, "dana")
    label = '{"sign_pub":"A","kem_pub":"A","proof":"A","label":"\\ud800"}'
    assert_problem(raw_json(dana, "POST", "/api/devices", label), 400, "json_invalid_string")
    assert_problem(raw_json(dana, "PUT", "/api/me/contact", '{"email":"a\\ud800@example.se"}'), 400,
                   "json_invalid_string")
    assert_problem(raw_json(dana, "PUT", "/api/me/contact", '{"email":"a@example.se","email":"b@example.se"}'),
                   400, "json_invalid_string")
    assert_problem(raw_json(dana, "POST", "/api/devices", '{"label":' + DEEP), 400, "json_too_deep")


def test_numbers_beyond_64_bits_are_a_400(server: Any) -> None:
    dana, anna = signed_in(server, "dana"), signed_in(server, "anna")
    for after in ("9223372036854775808", "-1", "1e3", str(10**30)):
        assert_problem(dana.get(f"/api/cases/{CASE_DANA}/messages", params={"after": after}), 400, "invalid_field")
    unit = "ekonomiskt-bistand"
    assert_problem(anna.get(f"/api/units/{unit}/calendar", params={"start": str(10**30)}), 400, "invalid_field")
    assert_problem(raw_json(anna, "POST", f"/api/units/{unit}/slots", '{"starts_at": 1e400}'), 400,
                   "json_number_out_of_range")
    assert_problem(raw_json(anna, "POST", f"/api/units/{unit}/slots", '{"starts_at": 9223372036854775808}'), 400,
                   "json_number_out_of_range")


async def test_a_websocket_ref_that_is_not_text_gets_an_error_and_the_connection_goes_on(login: Any) -> None:
    dana = await login("dana")
    url = server_url(dana).replace("http://", "ws://")
    cookie = dana.transport.http.cookies.get(COOKIE)
    async with websockets.connect(f"{url}/ws?device={dana.device_id}",
                                  additional_headers={"Cookie": f"{COOKIE}={cookie}"}) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["t"] == "hello"
        for text, code in (('{"t":"ping","ref":"\\ud800"}', "json_invalid_string"),
                           ('{"t":"receipt","case_id":"x","read_seq":1e999}', "json_number_out_of_range"),
                           (DEEP, "json_too_deep")):
            await ws.send(text)
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert (answer["t"], answer["code"]) == ("error", code)
        await ws.send('{"t":"ping","ref":"still-here"}')
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"t": "pong", "ref": "still-here"}


def server_url(session: Any) -> str:
    return str(session.transport.server)


# -- origins ---------------------------------------------------------------------------------------------------
async def test_an_origin_with_another_scheme_is_not_this_site(server: Any, login: Any) -> None:
    dana = signed_in(server, "dana")
    host = server.url.split("://", 1)[1]
    answer = dana.post("/api/logout", headers={"origin": f"https://{host}"})
    assert_problem(answer, 403, "bad_origin")
    assert dana.get("/api/me").status_code == 200  # still signed in
    session = await login("erik")
    cookie = session.transport.http.cookies.get(COOKIE)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"ws://{host}/ws?device={session.device_id}",
                                 additional_headers={"Cookie": f"{COOKIE}={cookie}", "Origin": f"https://{host}"})
    assert refused.value.response.status_code == 403
    ok = await websockets.connect(f"ws://{host}/ws?device={session.device_id}",
                                  additional_headers={"Cookie": f"{COOKIE}={cookie}", "Origin": f"http://{host}"})
    await ok.close()


# -- forwarded headers and the sign-in limit ----------------------------------------------------------------
def from_address(address: str, base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=30, transport=httpx.HTTPTransport(local_address=address))


def sign_in_start(client: httpx.Client, forwarded_for: str | None = None) -> int:
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    return client.get("/login/citizen", headers=headers).status_code  # 404: no provider; 429: limited


def test_a_made_up_forwarded_for_from_a_client_changes_nothing(server: Any) -> None:
    # From 127.0.0.1, whose X-Forwarded-For uvicorn believed by default: each made-up address was a fresh bucket.
    with from_address("127.0.0.1", server.url) as attacker, from_address("127.0.0.3", server.url) as other:
        statuses = [sign_in_start(attacker, f"10.0.0.{i}") for i in range(5)]
        assert statuses[:3] == [404] * 3 and statuses[3:] == [429, 429]  # one bucket, whatever the header
        assert sign_in_start(other) == 404  # another address was not locked out


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def nginx_conf(tmp: Path, listen: int, upstream: str) -> Path:
    """deploy/nginx.conf's proxy headers, in front of the test server on loopback without TLS."""
    deploy = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    server_level = deploy.split("location", 1)[0]
    headers = "\n".join(line.strip() for line in server_level.splitlines() if line.strip().startswith("proxy_set_header"))
    assert "X-Forwarded-For $remote_addr" in headers and "X-Forwarded-Proto $scheme" in headers
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / name).mkdir(exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
user root;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{listen};
        {headers}
        location / {{ proxy_pass {upstream}; }}
    }}
}}
""")
    return conf


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx); the header rules are "
                                          "tested directly above")
def test_behind_nginx_each_client_is_limited_by_its_own_address(tmp_path: Path) -> None:
    (tmp_path / "samtal").mkdir()
    behind = start_server(tmp_path / "samtal", SAMTAL_LOGIN_RATE="3", SAMTAL_TRUSTED_PROXIES="127.0.0.1")
    port = free_port()
    process = subprocess.Popen([NGINX, "-c", str(nginx_conf(tmp_path, port, behind.url)), "-p", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proxy = f"http://127.0.0.1:{port}"
        eventually_blocking(lambda: httpx.get(f"{proxy}/healthz", timeout=1), within=10,
                            retrying=(httpx.HTTPError,), what="nginx")
        with from_address("127.0.0.4", proxy) as one, from_address("127.0.0.5", proxy) as another:
            statuses = [sign_in_start(one, f"192.0.2.{i}") for i in range(5)]  # made-up headers, nginx resets them
            assert statuses[:3] == [404] * 3 and statuses[3:] == [429, 429], statuses
            assert sign_in_start(another) == 404  # behind one proxy, each client has its own allowance
            assert one.get("/healthz").headers.get("strict-transport-security") is None  # http here
    finally:
        process.terminate()
        process.wait(10)
        stop_server(behind)


def test_two_server_processes_on_one_database_share_one_sign_in_allowance(tmp_path: Path) -> None:
    # Each process kept its own buckets in memory: behind a load balancer a client had one allowance per node.
    database = engines.postgres_url()  # several processes on one database: PostgreSQL
    shared = {"SAMTAL_DATABASE_URL": database, "SAMTAL_LOGIN_RATE": "3", "SAMTAL_PNR_HMAC_KEY": "k" * 32}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    nodes = [start_server(tmp_path / name, **shared) for name in ("a", "b")]
    try:
        clients = [httpx.Client(base_url=node.url, timeout=30) for node in nodes]
        statuses = [sign_in_start(clients[i % 2]) for i in range(6)]
        assert statuses[:3] == [404] * 3 and statuses[3:] == [429] * 3, statuses
    finally:
        for node in nodes:
            stop_server(node)


# -- HSTS and files -------------------------------------------------------------------------------------------
async def test_hsts_only_when_the_public_url_is_https(tmp_path: Path) -> None:
    for public_url, expected in (("https://samtal.example.se", "max-age=63072000"), ("", None)):
        settings = Settings(data_dir=tmp_path / (public_url and "https" or "http"))
        settings.public_url = public_url
        app = create_app(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            answer = await client.get("/healthz")
        assert answer.headers.get("strict-transport-security") == expected


def test_the_data_folder_is_the_servers_users_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        running = start_server(tmp_path)
    finally:
        os.umask(old)
    try:
        paths = [running.data_dir, *running.data_dir.rglob("*")]
        on_sqlite = not isinstance(running.database, str)  # on PostgreSQL the folder holds the key files only
        assert any(p.name == "samtal.sqlite3" for p in paths) == on_sqlite and len(paths) >= 3
        for path in paths:
            mode = stat.S_IMODE(path.lstat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), (path.name, oct(mode))
    finally:
        stop_server(running)


def test_the_deploy_config_sets_the_forwarded_headers_itself() -> None:
    deploy = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    directives = [line.split("#")[0] for line in deploy.splitlines()]
    assert not any("$proxy_add_x_forwarded_for" in line for line in directives)
    assert re.search(r"proxy_set_header X-Forwarded-For \$remote_addr;", deploy)
