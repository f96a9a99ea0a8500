"""``modelrail predict``: call a model's task API in local mode or on a deployed stage.

``instances`` turns command-line arguments and files into task API instances for the model's task; ``http`` is a
small stdlib HTTP client (API key header, or SigV4 for a stage deployed with IAM auth) that turns the API's JSON
errors into ``PredictError``; ``cli`` wires them up.
"""
