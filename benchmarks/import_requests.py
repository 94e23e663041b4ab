"""The real-application case: importing a widely used third-party package (requests and its
dependencies urllib3, charset_normalizer, idna, certifi) and preparing a request offline."""

import requests

session = requests.Session()
request = session.prepare_request(requests.Request("GET", "http://127.0.0.1/", params={"q": "start-up"}))
print(requests.__version__, request.url)
