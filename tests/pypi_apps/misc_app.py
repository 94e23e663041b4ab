import os, psutil, threading, http.server, json
import requests, charset_normalizer
from sqlalchemy import create_engine, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, Session

print(psutil.Process(os.getpid()).pid == os.getpid(), psutil.cpu_count() > 0)

class Base(DeclarativeBase): pass
class Item(Base):
    __tablename__ = "item"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30))
e = create_engine("sqlite://")
Base.metadata.create_all(e)
with Session(e) as s:
    s.add_all([Item(name="a"), Item(name="b")]); s.commit()
    print([i.name for i in s.scalars(select(Item).order_by(Item.id))])

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
print(requests.get(f"http://127.0.0.1:{srv.server_port}/x").json())
srv.shutdown()
print(charset_normalizer.from_bytes("Bonjour, ça va très bien".encode("cp1252")).best().encoding)
