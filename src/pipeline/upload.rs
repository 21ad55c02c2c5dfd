//! Uploads the deterministic context zip to `s3://BUCKET/sm-kernel/IMAGE/DIGEST.zip`. The
//! key is content-addressed, so an object of the same key and size is the same context and
//! is not sent again. Large contexts go up in parallel multipart parts. With `kms-key`, S3
//! encrypts the object with that key (SSE-KMS), and an object stored without it is sent again.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CompletedMultipartUpload, CompletedPart, CreateBucketConfiguration,
    ServerSideEncryption,
};
use tokio::task::JoinSet;

use super::{Cancel, Reporter};
use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::names;
use crate::plan::steps::MULTIPART_THRESHOLD;
use crate::plan::steps::{Builder, Step};
use crate::plan::Resources;
use crate::plan::{KernelPlan, StepId};

/// Object metadata naming the image tag built from this context, so `prune` can tell which
/// contexts belong to the versions it deletes.
pub const IMAGE_TAG_METADATA: &str = "sm-kernel-image-tag";

const PART_SIZE: u64 = 8 * 1024 * 1024;
const PARALLEL_PARTS: usize = 4;

/// Returns the bytes sent (0 when the object was already there).
pub async fn upload(
    clients: &Clients,
    zip: &Path,
    kp: &KernelPlan,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<u64, Error> {
    let res = &kp.resources;
    let name = &kp.name;
    let kms_key = res.kms_key_arn.as_deref();
    ensure_bucket(clients, res.bucket.as_str(), &res.region, reporter, name).await?;

    // The plan already packed the context once, so its size is known before packing again.
    let planned = kp.context.report.bytes_out;
    match clients
        .s3
        .head_object()
        .bucket(&res.bucket)
        .key(&res.source_key)
        .send()
        .await
    {
        // S3 reports the key of an SSE-KMS object as its ARN, the form kms-key takes.
        Ok(o)
            if o.content_length() == Some(planned as i64)
                && kms_key.is_none_or(|k| o.ssekms_key_id() == Some(k)) =>
        {
            reporter.skipped(
                name,
                StepId::Upload,
                &format!("s3://{}/{} is already there", res.bucket, res.source_key),
            );
            return Ok(0);
        }
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
        Err(e) => {
            return Err(Error::aws(
                &format!("s3:HeadObject s3://{}/{}", res.bucket, res.source_key),
                &e,
            ))
        }
    }
    // The plan packed the context once, into `zip`; it is sent as it is.
    let size = std::fs::metadata(zip)
        .map_err(|e| Error::failed(format!("reading {}: {e}", zip.display())))?
        .len();
    if size != planned {
        return Err(Error::failed(format!(
            "{} changed since it was packed ({planned} bytes, now {size}); run again",
            zip.display()
        )));
    }

    reporter.step(
        name,
        StepId::Upload,
        &format!(
            "uploading {size} bytes to s3://{}/{}",
            res.bucket, res.source_key
        ),
    );
    if size <= MULTIPART_THRESHOLD {
        let body = std::fs::read(zip)
            .map_err(|e| Error::failed(format!("reading {}: {e}", zip.display())))?;
        clients
            .s3
            .put_object()
            .bucket(&res.bucket)
            .key(&res.source_key)
            .metadata(IMAGE_TAG_METADATA, &res.image_tag)
            .set_server_side_encryption(kms_key.map(|_| ServerSideEncryption::AwsKms))
            .set_ssekms_key_id(kms_key.map(str::to_string))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| Error::aws("s3:PutObject", &e))?;
        reporter.bytes(name, size, size);
    } else {
        multipart(clients, zip, size, kp, reporter, cancel).await?;
    }
    Ok(size)
}

async fn ensure_bucket(
    clients: &Clients,
    bucket: &str,
    region: &str,
    reporter: &dyn Reporter,
    kernel: &str,
) -> Result<(), Error> {
    match clients.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
        Err(e) => return Err(Error::aws(&format!("s3:HeadBucket {bucket}"), &e)),
    }
    if !names::bucket_in_seed_policy(bucket) {
        return Err(Error::failed(format!(
            "bucket {bucket} does not exist, and sm-kernel creates only sagemaker-* buckets; create it yourself or leave bucket unset to use sagemaker-{region}-ACCOUNT"
        )));
    }
    reporter.step(kernel, StepId::Upload, &format!("creating bucket {bucket}"));
    let mut call = clients.s3.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        call = call.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match call.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(e) => Err(Error::aws(&format!("s3:CreateBucket {bucket}"), &e)),
    }
}

fn read_part(path: &Path, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0; len as usize];
    f.read_exact(&mut buf)?;
    Ok(buf)
}

async fn multipart(
    clients: &Clients,
    path: &Path,
    size: u64,
    kp: &KernelPlan,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<(), Error> {
    let res = &kp.resources;
    let created = clients
        .s3
        .create_multipart_upload()
        .bucket(&res.bucket)
        .key(&res.source_key)
        .metadata(IMAGE_TAG_METADATA, &res.image_tag)
        .set_server_side_encryption(
            res.kms_key_arn
                .as_ref()
                .map(|_| ServerSideEncryption::AwsKms),
        )
        .set_ssekms_key_id(res.kms_key_arn.clone())
        .send()
        .await
        .map_err(|e| Error::aws("s3:CreateMultipartUpload", &e))?;
    let upload_id = created
        .upload_id()
        .ok_or_else(|| Error::failed("s3:CreateMultipartUpload returned no upload id"))?
        .to_string();
    let result = send_parts(clients, path, size, kp, &upload_id, reporter, cancel).await;
    match result {
        Ok(parts) => clients
            .s3
            .complete_multipart_upload()
            .bucket(&res.bucket)
            .key(&res.source_key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::aws("s3:CompleteMultipartUpload", &e)),
        Err(e) => {
            // Parts of an abandoned upload are billed until aborted.
            let _ = clients
                .s3
                .abort_multipart_upload()
                .bucket(&res.bucket)
                .key(&res.source_key)
                .upload_id(&upload_id)
                .send()
                .await;
            Err(e)
        }
    }
}

async fn send_parts(
    clients: &Clients,
    path: &Path,
    size: u64,
    kp: &KernelPlan,
    upload_id: &str,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<Vec<CompletedPart>, Error> {
    let res = &kp.resources;
    let count = size.div_ceil(PART_SIZE);
    let mut next = 1u64;
    let mut sent = 0u64;
    let mut parts = Vec::new();
    let mut running: JoinSet<Result<(i32, String, u64), Error>> = JoinSet::new();
    loop {
        while running.len() < PARALLEL_PARTS && next <= count {
            cancel.check(
                "during the upload; the incomplete upload was aborted and nothing else was created",
            )?;
            let number = next;
            next += 1;
            let offset = (number - 1) * PART_SIZE;
            let len = PART_SIZE.min(size - offset);
            let body = read_part(path, offset, len)
                .map_err(|e| Error::failed(format!("reading {}: {e}", path.display())))?;
            let call = clients
                .s3
                .upload_part()
                .bucket(&res.bucket)
                .key(&res.source_key)
                .upload_id(upload_id)
                .part_number(number as i32)
                .body(ByteStream::from(body));
            running.spawn(async move {
                let out = call
                    .send()
                    .await
                    .map_err(|e| Error::aws("s3:UploadPart", &e))?;
                Ok((
                    number as i32,
                    out.e_tag().unwrap_or_default().to_string(),
                    len,
                ))
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (number, etag, len) =
            done.map_err(|e| Error::failed(format!("upload task failed: {e}")))??;
        sent += len;
        reporter.bytes(&kp.name, sent, size);
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .e_tag(etag)
                .build(),
        );
    }
    parts.sort_by_key(|p| p.part_number());
    Ok(parts)
}

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    b.caller("s3", "HeadBucket", "s3:ListBucket", &r.bucket_arn);
    b.caller("s3", "CreateBucket", "s3:CreateBucket", &r.bucket_arn)
        .when("only if the bucket does not exist (and only for sagemaker-* names)");
    b.caller("s3", "HeadObject", "s3:GetObject", &r.source_arn);
    b.caller("s3", "PutObject", "s3:PutObject", &r.source_arn)
        .when("unless an object with this key and size already exists");
    for op in [
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
    ] {
        b.caller("s3", op, "s3:PutObject", &r.source_arn)
            .when("instead of PutObject for contexts over 16 MiB");
    }
    b.caller(
        "s3",
        "AbortMultipartUpload",
        "s3:AbortMultipartUpload",
        &r.source_arn,
    )
    .when("only if a multipart upload fails or is interrupted");
    // SSE-KMS: S3 asks KMS for a data key on the caller's behalf (and, for each part of a
    // multipart upload, to decrypt it), so the caller needs the key too.
    if let Some(key) = &k.build.kms_key {
        b.caller("s3", "PutObject", "kms:GenerateDataKey", &key.arn)
            .via_s3()
            .when("kms-key: S3 encrypts the context with the key (unless it is already there)");
        b.caller(
            "s3",
            "CreateMultipartUpload",
            "kms:GenerateDataKey",
            &key.arn,
        )
        .via_s3()
        .when("kms-key: instead of PutObject for contexts over 16 MiB");
        b.caller("s3", "UploadPart", "kms:Decrypt", &key.arn)
            .via_s3()
            .when("kms-key: each part of a multipart upload over 16 MiB");
    }
    b.done(
        StepId::Upload,
        format!("upload the context to s3://{}/{}", r.bucket, r.source_key),
    )
}
