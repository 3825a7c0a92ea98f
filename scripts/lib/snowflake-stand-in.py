"""A stand-in for Snowflake's query service and an encrypted stage, for scripts/bench.sh's
`stage` stage: it answers a load as Snowflake would (login, DDL, information_schema, PUT with a
client-side-encrypted GCS stage that is this server, COPY, COUNT, COMMIT) and counts the bytes
the loader sends, so the bind and the staged path can be compared on client CPU and bytes on the
wire without a Snowflake account. Each COPY decrypts the file with snowflake-connector-python's
own decrypt_stream and counts its rows, so a wrong file fails the run (the batch-table check).

  python snowflake-stand-in.py PORT_FILE BYTES_FILE
Writes its port to PORT_FILE; on every request adds to BYTES_FILE: "<kind> <bytes>" lines
(query = statement requests as sent, gzip; upload = stage files, encrypted).
"""
import base64, gzip, http.server, io, json, os, re, sys
from snowflake.connector.constants import EncryptionMetadata
from snowflake.connector.encryption_util import SnowflakeEncryptionUtil
from snowflake.connector.storage_client import SnowflakeFileEncryptionMaterial

port_file, bytes_file = sys.argv[1], sys.argv[2]
MASTER = base64.b64encode(os.urandom(32)).decode()
MATERIAL = SnowflakeFileEncryptionMaterial(query_stage_master_key=MASTER, query_id="bench", smk_id=1)
state = {"columns": [], "held": 0, "files": {}}
sent = open(bytes_file, "a", buffering=1)


def typed(declared):
    match = re.match(r"([A-Z_]+)(?:\((\d+),(\d+)\))?", declared)
    name, precision, scale = match.groups()
    return [("TEXT" if name == "VARCHAR" else name), precision, scale]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        sent.write(f"upload {len(body)}\n")
        meta = json.loads(self.headers["x-goog-meta-encryptiondata"])
        state["files"][self.path.split("?")[0].rsplit("/", 1)[-1]] = (
            body, EncryptionMetadata(key=meta["WrappedContentKey"]["EncryptedKey"], iv=meta["ContentEncryptionIV"],
                                     matdesc=self.headers["x-goog-meta-matdesc"]))
        self.answer(200, b"")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        sent.write(f"query {len(raw)}\n")
        body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
        if self.path.startswith("/session/v1/login-request"):
            return self.answer(200, {"data": {"token": "T", "masterToken": "M", "parameters": [
                {"name": "CLIENT_STAGE_ARRAY_BINDING_THRESHOLD", "value": 65280}]}, "success": True})
        if self.path.startswith("/session"):
            return self.answer(200, {"data": None, "success": True})
        request = json.loads(body)
        sql = request["sqlText"]
        rows = []
        if sql.startswith("CREATE TABLE") and "CONDUIT_CHECKPOINTS" not in sql:
            state["columns"] = [[name] + typed(declared) for name, declared in re.findall(r'"([^"]+)" ([A-Z_]+(?:\(\d+,\d+\))?)', sql)]
        elif "information_schema.columns" in sql and "CONDUIT_CHECKPOINTS" not in sql:
            rows = state["columns"]
        elif sql.startswith("PUT "):
            name = sql.split("'")[1].rsplit("/", 1)[-1]
            return self.answer(200, {"data": {"command": "UPLOAD", "src_locations": [name], "stageInfo": {
                "locationType": "GCS", "location": "bench-stage/", "isClientSideEncrypted": True, "creds": {},
                "presignedUrl": f"http://127.0.0.1:{self.server.server_address[1]}/stage/{name}?X-Goog-Signature=x"},
                "encryptionMaterial": {"queryStageMasterKey": MASTER, "queryId": "bench", "smkId": 1}}, "success": True})
        elif sql.startswith("DELETE FROM CONDUIT_BATCH"):
            state["held"] = 0
        elif sql.startswith("INSERT INTO CONDUIT_BATCH"):
            bindings = request.get("bindings") or {}
            state["held"] += len(next(iter(bindings.values()))["value"]) if bindings else 0
        elif sql.startswith("COPY INTO"):
            body, metadata = state["files"].pop(sql.split(" FROM ")[1].split(" ")[0].rsplit("/", 1)[-1])
            out = io.BytesIO()
            SnowflakeEncryptionUtil.decrypt_stream(metadata, MATERIAL, io.BytesIO(body), out)
            state["held"] = gzip.decompress(out.getvalue()).count(b"\n")
        elif "COUNT(*)" in sql:
            rows = [[str(state["held"])]]
        self.answer(200, {"data": {"rowtype": [{"name": "C", "type": "text"}], "rowset": rows}, "success": True})


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
