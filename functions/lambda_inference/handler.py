"""Lambda entry point (``CMD ["handler.handler"]``): one app per process, the model loaded on first use."""

from mangum import Mangum

from modelrail.app import create_app

app = create_app()
handler = Mangum(app, lifespan="off")
