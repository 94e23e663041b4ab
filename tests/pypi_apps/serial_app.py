import orjson, ujson, msgpack, regex, attrs, click

@attrs.define
class P:
    x: int
    y: int = 2

data = {"a": [1, 2.5, "é"], "b": None, "p": attrs.asdict(P(1))}
print(orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode())
print(ujson.dumps(data, sort_keys=True, ensure_ascii=False))
print(msgpack.unpackb(msgpack.packb(data)) == data)
print(regex.findall(r"\p{L}+", "héllo wörld 123"))

@click.command()
@click.option("--n", default=2)
def cli(n):
    click.echo(f"n={n}")

cli(["--n", "3"], standalone_mode=False)
