"""Functions the C++ program calls through rps_embed_call."""


def greet(name, times):
    """Both arguments arrive as str (the C++ side passes UTF-8 text)."""
    return " ".join([f"Hello, {name}!"] * int(times))


def checksum(data):
    """`data` arrives as bytes; the result goes back as text."""
    return f"{len(data)} bytes, sum {sum(data)}"


def divide(a, b):
    return str(int(a) / int(b))
