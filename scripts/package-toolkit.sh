#!/usr/bin/env bash
# Uploads what sam/toolkit.yaml's products need to s3://BUCKET/PREFIX/: the two product
# templates (sam/products/*.yaml) and the connector's code (connector-ARCH.zip, holding the
# release `bootstrap`). Then deploy the toolkit with the same bucket and prefix:
#
#   scripts/package-toolkit.sh my-artifacts
#   .venv-sam/bin/sam deploy -t sam/toolkit.yaml ... ArtifactBucket=my-artifacts
#
# Usage: scripts/package-toolkit.sh BUCKET [PREFIX] [ARCH]
#   PREFIX defaults to toolkit.yaml's ArtifactPrefix default, ARCH to x86_64 (or arm64).
#   BOOTSTRAP=path overrides the connector binary (default: target/lambda/bootstrap/bootstrap,
#   built by `cargo lambda build --release -p athena-connector --no-default-features --bin bootstrap`).
# Credentials, region and AWS_ENDPOINT_URL come from the environment, as for any AWS SDK.
set -euo pipefail
cd "$(dirname "$0")/.."

bucket=${1:?usage: scripts/package-toolkit.sh BUCKET [PREFIX] [ARCH]}
prefix=${2:-$(awk '/^  ArtifactPrefix:/{p=1} p && /Default:/{print $2; exit}' sam/toolkit.yaml)}
arch=${3:-x86_64}
bootstrap=${BOOTSTRAP:-target/lambda/bootstrap/bootstrap}
python=.venv-sam/bin/python
case $arch in x86_64|arm64) ;; *) echo "ARCH must be x86_64 or arm64, not $arch" >&2; exit 2 ;; esac
[ -x "$python" ] || { echo "$python is missing: run scripts/services.sh" >&2; exit 2; }
[ -f "$bootstrap" ] || { echo "$bootstrap is missing: build the release connector first (see this script's header)" >&2; exit 2; }

"$python" - "$bucket" "$prefix" "$arch" "$bootstrap" <<'PY'
import io, sys, zipfile
import boto3

bucket, prefix, arch, bootstrap = sys.argv[1:]
# The binary must be what the zip's name says: an ELF file for ARCH (e_machine, bytes 18-19).
with open(bootstrap, "rb") as f:
    header = f.read(20)
machines = {0x3E: "x86_64", 0xB7: "arm64"}
machine = machines.get(int.from_bytes(header[18:20], "little")) if header[:4] == b"\x7fELF" else None
if machine != arch:
    sys.exit(f"{bootstrap} is {'built for ' + machine if machine else 'not a Linux executable'}, not {arch}: build it for {arch} (cargo lambda build --release{' --arm64' if arch == 'arm64' else ''})")
s3 = boto3.client("s3")
code = io.BytesIO()
with zipfile.ZipFile(code, "w", zipfile.ZIP_DEFLATED) as z:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o100755 << 16  # executable, as Lambda runs it
    with open(bootstrap, "rb") as f:
        z.writestr(info, f.read())
uploads = [
    (f"{prefix}/connector-{arch}.zip", code.getvalue()),
    (f"{prefix}/producer.yaml", open("sam/products/producer.yaml", "rb").read()),
    (f"{prefix}/consumer.yaml", open("sam/products/consumer.yaml", "rb").read()),
]
for key, body in uploads:
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    print(f"s3://{bucket}/{key}")
PY
