"""Lambda entry point (``CMD ["handler.handler"]``): one app per process, the model loaded on first use."""

from mangum import Mangum

from modelrail.app import create_app
from modelrail.settings import get_settings

app = create_app()
# Through a custom domain with a base path mapping, the event's path starts with that base path.
handler = Mangum(app, lifespan="off", api_gateway_base_path=get_settings().api_base_path or "/")
