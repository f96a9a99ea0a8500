"""The job worker's entry point (``contract.jobs.JOB_WORKER_HANDLER``): the model function's image, another handler.

Lambda's SQS event source invokes it with one job message at a time; the model loads on the first job that needs it.
"""

from modelrail.jobs.runtime import handle_sqs_event

handler = handle_sqs_event
"""An SQS event in; the job runs until done, cancelled or near the timeout (then it continues in a new message)."""
