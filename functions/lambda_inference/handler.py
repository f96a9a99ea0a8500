"""Lambda entry point (``handler.handler``, in the container image and the zip package alike): one app per process.

The model loads in the background from import on; under a SnapStart init (zip packaging) ``snapstart.prepare`` waits
for it and registers the runtime hooks, so the snapshot holds the loaded model.
"""

from mangum import Mangum

from modelrail import snapstart
from modelrail.app import create_app
from modelrail.settings import get_settings

app = create_app()
# Through a custom domain with a base path mapping, the event's path starts with that base path.
handler = Mangum(app, lifespan="off", api_gateway_base_path=get_settings().api_base_path or "/")
snapstart.prepare(app)
