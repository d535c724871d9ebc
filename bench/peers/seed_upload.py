# The seed guide's upload pattern, faithfully: FastAPI's UploadFile (spooled to a temporary file
# past 1 MiB by Starlette), then the MinIO Python SDK's put_object of the file with an unknown
# length, then a presigned GET. Only what the benchmark needs to compare against our API.
import os
from datetime import timedelta

from fastapi import FastAPI, File, UploadFile
from minio import Minio

endpoint = os.environ["MINIO_ENDPOINT"]
client = Minio(
    endpoint.split("://", 1)[1],
    access_key=os.environ["MINIO_ACCESS_KEY"],
    secret_key=os.environ["MINIO_SECRET_KEY"],
    secure=endpoint.startswith("https://"),
    region="us-east-1",
)
app = FastAPI()


@app.post("/upload")
async def upload_file(file: UploadFile = File(...)):
    object_name = f"uploads/{file.filename}"
    client.put_object(
        "user-uploads",
        object_name,
        file.file,
        length=-1,
        part_size=10 * 1024 * 1024,
        content_type=file.content_type or "application/octet-stream",
    )
    download_url = client.presigned_get_object("user-uploads", object_name, expires=timedelta(minutes=15))
    return {"file_path": object_name, "download_url": download_url, "filename": file.filename}
