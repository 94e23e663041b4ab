from datetime import datetime
from pydantic import BaseModel, Field, ValidationError

class User(BaseModel):
    id: int
    name: str = Field(min_length=1)
    signup: datetime | None = None
    tags: list[str] = []

u = User(id="42", name="ada", signup="2024-01-02T03:04:05", tags=["x"])
print(u.model_dump_json())
try:
    User(id="x", name="")
except ValidationError as e:
    print(len(e.errors()), "errors:", sorted(err["loc"][0] for err in e.errors()))
print(User.model_json_schema()["required"])
