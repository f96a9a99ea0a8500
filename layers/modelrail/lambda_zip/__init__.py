"""Lambda zip packages for the Python 3.12 managed runtime, built from pip's platform wheels (no Docker).

``build_zip_package`` installs the model function's pinned requirements for the Lambda platform, copies the
serving part of the ``modelrail`` runtime and the function's handler beside them, trims what is never imported
at serve time, checks the result against Lambda's unzipped-size quota and caches it by a hash of everything
that went in. ``infra/`` turns the folder into the function's code asset; CDK zips it at synth.
"""

from modelrail.lambda_zip.build import ZipPackage, ZipPackageError, build_zip_package, package_key
from modelrail.lambda_zip.limits import UNZIPPED_LIMIT_BYTES, PackageTooLargeError
from modelrail.lambda_zip.platform import LAMBDA_PYTHON, LambdaPlatform

__all__ = [
    "LAMBDA_PYTHON",
    "UNZIPPED_LIMIT_BYTES",
    "LambdaPlatform",
    "PackageTooLargeError",
    "ZipPackage",
    "ZipPackageError",
    "build_zip_package",
    "package_key",
]
