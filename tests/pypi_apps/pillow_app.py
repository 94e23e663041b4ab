"""pillow: codecs from its vendored libraries, and text drawn by FreeType (whose vendored
libfreetype and libharfbuzz need each other)."""
import hashlib
import io

from PIL import Image, ImageDraw, ImageFont, features

image = Image.new("RGB", (96, 32), "white")
draw = ImageDraw.Draw(image)
draw.rectangle((4, 4, 40, 20), fill="red")
font = ImageFont.load_default(size=14)
print("font", type(font).__name__)
draw.text((44, 6), "Hi!", font=font, fill="black")
print("text pixels", hashlib.sha256(image.tobytes()).hexdigest()[:16])
for fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    buffer.seek(0)
    print(fmt, Image.open(buffer).size)
print("features", {name: features.check(name) for name in ("freetype2", "raqm", "jpg", "webp", "libtiff", "zlib")})
