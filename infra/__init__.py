"""The modelrail CDK app: ``app.py`` reads context and builds one stack per stage from the model manifests."""
