//! Imports are bounded: the caller is authorised on the options before any of the file is
//! read, one import per tenant runs at a time, and rows and answered errors are capped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lms_api::identity::v1::import_service_client::ImportServiceClient;
use lms_api::identity::v1::{
    ImportCsvRequest, ImportCsvResponse, ImportKind, ImportOptions, import_csv_request,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use crate::fixture::{Platform, USER_PASSWORD, fields, reason};

const CHUNK: usize = 64 * 1024;

fn options(kind: ImportKind) -> ImportCsvRequest {
    ImportCsvRequest {
        part: Some(import_csv_request::Part::Options(ImportOptions {
            kind: kind as i32,
            skip_bad_rows: false,
            people_data_feed: false,
        })),
    }
}

fn chunk(bytes: &[u8]) -> ImportCsvRequest {
    ImportCsvRequest {
        part: Some(import_csv_request::Part::Chunk(bytes.to_vec())),
    }
}

/// Imports `file` in 64 KiB chunks and answers every progress message.
async fn import(
    platform: &Platform,
    token: &str,
    kind: ImportKind,
    file: &str,
) -> Result<Vec<ImportCsvResponse>, tonic::Status> {
    let mut messages = vec![options(kind)];
    messages.extend(file.as_bytes().chunks(CHUNK).map(chunk));
    let mut stream = ImportServiceClient::new(platform.identity.authorized(token))
        .import_csv(tokio_stream::iter(messages))
        .await?
        .into_inner();
    let mut progress = Vec::new();
    while let Some(message) = stream.message().await? {
        progress.push(message);
    }
    Ok(progress)
}

#[tokio::test]
async fn a_student_import_is_refused_on_its_options_without_the_file_being_read() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    platform.create_user(&admin, "stu@example.org", "").await;
    let student = platform
        .sign_in("stu@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    // A file that never ends: a server that read the body before deciding would never answer
    // (or answer only once its size cap was reached), so the refusal must come while the client
    // is still sending.
    let sent = Arc::new(AtomicUsize::new(0));
    let counted = sent.clone();
    let body = vec![b'x'; CHUNK];
    let endless = tokio_stream::iter(std::iter::once(options(ImportKind::Users)).chain(
        std::iter::repeat_with(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            chunk(&body)
        }),
    ));
    let refused = tokio::time::timeout(
        Duration::from_secs(30),
        ImportServiceClient::new(platform.identity.authorized(&student)).import_csv(endless),
    )
    .await
    .expect("the refusal comes while the file is still being sent")
    .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let chunks = sent.load(Ordering::SeqCst);
    // What the client produced is bounded by the transport's flow-control windows, not by the
    // file: far below the 64 MiB a buffering server would have read first.
    assert!(
        chunks * CHUNK < 8 << 20,
        "the client produced {chunks} chunks of 64 KiB before the refusal"
    );
}

type Running = tokio::task::JoinHandle<Result<Option<ImportCsvResponse>, tonic::Status>>;

/// An accounts import that has sent its options and header and waits for the rest of its file
/// from the answered sender; the task answers its last progress message.
async fn held_open(
    platform: &Platform,
    token: &str,
) -> (tokio::sync::mpsc::Sender<ImportCsvRequest>, Running) {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    sender.send(options(ImportKind::Accounts)).await.unwrap();
    sender
        .send(chunk(b"external_id,name,kind\n"))
        .await
        .unwrap();
    let mut client = ImportServiceClient::new(platform.identity.authorized(token));
    let running = tokio::spawn(async move {
        let mut stream = client
            .import_csv(ReceiverStream::new(receiver))
            .await?
            .into_inner();
        let mut last = None;
        while let Some(message) = stream.message().await? {
            last = Some(message);
        }
        Ok(last)
    });
    (sender, running)
}

#[tokio::test]
async fn a_second_import_of_the_same_tenant_is_refused_while_the_first_runs() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let accounts = "external_id,name,kind\nACME,Acme Ltd,customer\n";
    // The first import holds its stream open: it has sent its options and part of its file.
    let (mut first, mut running) = held_open(&platform, &admin).await;
    // A second import that reaches the service before the first is admitted runs (and ends),
    // and the first, arriving while it runs, is refused and starts again; once the first is
    // admitted, the second is refused for as long as the first runs. Deadline-bound: on a
    // loaded machine admission may take a while.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut refused = None;
    while tokio::time::Instant::now() < deadline {
        if let Err(status) = import(&platform, &admin, ImportKind::Accounts, accounts).await {
            refused = Some(status);
            break;
        }
        if running.is_finished() {
            (first, running) = held_open(&platform, &admin).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = refused.expect("a second import is refused while the first runs");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(reason(&refused), "IMPORT_RUNNING");

    first
        .send(chunk(b"US,Our Training,provider\n"))
        .await
        .unwrap();
    drop(first);
    let last = running.await.unwrap().unwrap().unwrap();
    assert!(last.done);
    // The tenant is free again once the first import has ended.
    let again = import(&platform, &admin, ImportKind::Accounts, accounts)
        .await
        .unwrap();
    assert!(again.last().unwrap().done);
}

#[tokio::test]
async fn an_import_answers_the_first_thousand_errors_and_counts_them_all() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let mut file = String::from("external_id,email,given_name,family_name\n");
    for row in 0..1500 {
        file.push_str(&format!("E{row},not-an-email,Ann,Ames\n"));
    }
    let progress = import(&platform, &admin, ImportKind::Users, &file)
        .await
        .unwrap();
    let listed: Vec<_> = progress.iter().flat_map(|m| &m.errors).collect();
    assert_eq!(listed.len(), 1000);
    assert_eq!(listed.first().unwrap().line, 2, "the first errors by line");
    assert_eq!(progress.last().unwrap().error_count, 1500);
    assert_eq!(progress.last().unwrap().rows_imported, 0);
}

#[tokio::test]
async fn a_file_of_more_than_a_hundred_thousand_rows_is_refused_whole() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let mut file = String::from("external_id,name\n");
    for row in 0..100_001 {
        file.push_str(&format!("G{row},Group {row}\n"));
    }
    let refused = import(&platform, &admin, ImportKind::AccountGroups, &file)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert_eq!(fields(&refused), ["chunk"]);
    assert!(
        refused.message().contains("100000 rows"),
        "{}",
        refused.message()
    );
}
