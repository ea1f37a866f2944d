//! `audit verify` against someone who can edit the database: removed checkpoints, a forged
//! anchor, a changed resource index, forged pending rows — and the checkpoints kept outside the
//! database that prove nothing before them was cut off or rewritten.

use std::time::Duration;

use app::audit::ssr::{self as audit, AuditLog, AuditSettings};
use serde_json::Value;

use crate::audit::{problem, recent, tamper, test_record, written_log};
use crate::harness::{cli, test_config, Session, PASSWORD};

#[tokio::test]
async fn a_log_whose_checkpoints_were_all_removed_fails() {
    let config = test_config();
    let (db, key) = config.open_database().await.unwrap();
    let log = AuditLog::open(db.clone(), AuditSettings::new(key.clone()))
        .await
        .unwrap();
    // Records ten minutes old, and the checkpoints that covered them deleted.
    for i in 1..=5 {
        log.append(test_record(i, &recent(600))).await.unwrap();
    }
    let p = problem(&db, &key).await;
    assert!(
        p.reason.contains("waited") && p.reason.contains("signed checkpoint"),
        "{p}"
    );
    // Signed at their time, they pass.
    log.checkpoint().await.unwrap();
    let p = problem(&db, &key).await;
    assert!(
        p.reason.contains("a checkpoint was removed"),
        "a checkpoint signed long after its records: {p}"
    );
}

#[tokio::test]
async fn a_checkpoint_removed_from_the_middle_is_a_gap() {
    let config = test_config();
    let (db, key) = config.open_database().await.unwrap();
    let log = AuditLog::open(db.clone(), AuditSettings::new(key.clone()))
        .await
        .unwrap();
    for i in 1..=2_600 {
        log.append(test_record(i, &recent(0))).await.unwrap();
    }
    log.checkpoint().await.unwrap();
    let v = audit::verify(&db, &key).await.unwrap();
    assert_eq!(v.problem, None);
    assert!(
        v.checkpoints >= 3,
        "one per 1,000 records and the last: {}",
        v.checkpoints
    );
    tamper(
        &db,
        &["DELETE FROM audit_checkpoints WHERE chain_seq BETWEEN 900 AND 1100"],
    )
    .await;
    let p = problem(&db, &key).await;
    assert!(p.reason.contains("a checkpoint was removed"), "{p}");
}

#[tokio::test]
async fn a_forged_anchor_does_not_hide_removed_records() {
    let (db, key, ..) = written_log(10).await;
    // The oldest records removed, behind an anchor that says the chain starts later.
    let prev: String = sqlx::query_scalar("SELECT prev_hash FROM audit_records WHERE chain_seq = 5")
        .fetch_one(&db)
        .await
        .unwrap();
    tamper(&db, &["DELETE FROM audit_records WHERE chain_seq < 5"]).await;
    sqlx::query(
        "INSERT INTO audit_anchor (id, chain_seq, prev_hash, pruned_at, cutoff, retention_days, key_id, mac) \
         VALUES (1, 5, ?, '2026-12-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z', 30, 'x', 'deadbeef')",
    )
    .bind(prev)
    .execute(&db)
    .await
    .unwrap();
    let p = problem(&db, &key).await;
    assert_eq!(p.chain_seq, 5);
    assert!(p.reason.contains("not signed"), "{p}");
}

#[tokio::test]
async fn a_changed_resource_index_is_named() {
    let (db, key, ..) = written_log(6).await;
    tamper(&db, &["DELETE FROM audit_resources WHERE resource_id = 'ws-000000004'"]).await;
    let p = problem(&db, &key).await;
    assert_eq!(p.chain_seq, 4, "{p}");
    assert!(p.reason.contains("resource index"), "{p}");

    let (db, key, ..) = written_log(6).await;
    tamper(
        &db,
        &["INSERT INTO audit_resources (resource_id, record_id) SELECT 'ws-hidden001', id FROM audit_records WHERE chain_seq = 2"],
    )
    .await;
    let p = problem(&db, &key).await;
    assert_eq!(p.chain_seq, 2, "{p}");
}

#[tokio::test]
async fn a_forged_pending_row_is_reported_and_sealed_as_what_it_is() {
    let (db, key, log, _config) = written_log(3).await;
    let forged = test_record(99, &recent(0));
    sqlx::query("INSERT INTO audit_pending (event_id, record) VALUES (?, ?)")
        .bind(&forged.event_id)
        .bind(serde_json::to_string(&forged).unwrap())
        .execute(&db)
        .await
        .unwrap();
    let p = problem(&db, &key).await;
    assert!(
        p.reason.contains("pending row") && p.reason.contains("signature"),
        "{p}"
    );
    // The next start seals it as unverified; verification names it.
    drop(log);
    let _log = AuditLog::open(db.clone(), AuditSettings::new(key.clone()))
        .await
        .unwrap();
    let (code, sealed_from): (String, String) = sqlx::query_as(
        "SELECT error_code, json_extract(record, '$.additionalEventData.sealedFrom') FROM audit_records WHERE event_id = ?",
    )
    .bind(&forged.event_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        (code.as_str(), sealed_from.as_str()),
        ("UnverifiedPendingRecord", "unverified")
    );
    let p = problem(&db, &key).await;
    assert!(p.reason.contains("did not write"), "{p}");
}

/// Starts the portal binary on `config`'s database; returns it once it listens.
async fn portal_process(config: &portal_server::Config, extra: &[&str]) -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_workspaces-portal"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &config.database_url,
        ])
        .arg("--audit-key-file")
        .arg(&config.audit_key_file)
        .args(extra)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut log = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stderr.take().unwrap()));
    let listening = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = log.next_line().await {
            if line.contains("WorkSpaces Portal listening") {
                return true;
            }
        }
        false
    });
    assert!(listening.await.unwrap_or(false), "the portal did not start");
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    (child, format!("http://127.0.0.1:{port}"))
}

#[tokio::test]
async fn a_clean_stop_signs_a_final_checkpoint_and_outside_checkpoints_catch_a_cut_end() {
    let config = test_config();
    let checkpoint_log = std::env::temp_dir().join(format!("portal-checkpoints-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&checkpoint_log);
    let add = cli(&config, &["user", "add", "--name", "w", "--role", "operator"], PASSWORD).await;
    assert!(add.status.success());
    let log_arg = checkpoint_log.display().to_string();
    let (child, base) = portal_process(&config, &["--audit-checkpoint-log", &log_arg]).await;
    let session = Session::new(&base, "t");
    assert_eq!(session.sign_in("w", PASSWORD).await, 200);
    for n in 0..40 {
        session
            .form(
                "workspaces/tags/set",
                &[("id", "ws-00000000"), ("key", "k"), ("value", &n.to_string())],
            )
            .await;
    }
    // SIGTERM: a clean stop.
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut child = child;
    child.wait().await.unwrap();
    let verified = cli(&config, &["audit", "verify", "--checkpoint-log", &log_arg], "").await;
    let out = String::from_utf8_lossy(&verified.stdout).to_string();
    assert_eq!(verified.status.code(), Some(0), "{out}");
    assert!(
        !out.contains("younger than the next checkpoint"),
        "the whole log is covered: {out}"
    );
    assert!(out.contains("kept outside the database match"), "{out}");
    let lines = std::fs::read_to_string(&checkpoint_log).unwrap();
    let last: Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
    let last_seq = last["chainSeq"].as_i64().unwrap();
    assert!(last_seq >= 42, "the sign-in, the user's creation and 40 writes: {last}");

    // Someone cuts the last records off, and the checkpoints that named them: the database
    // alone looks whole; the checkpoints kept outside say otherwise.
    let (db, _key) = config.open_database().await.unwrap();
    let cut = last_seq - 5;
    sqlx::query("DELETE FROM audit_records WHERE chain_seq > ?")
        .bind(cut)
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_checkpoints WHERE chain_seq > ?")
        .bind(cut)
        .execute(&db)
        .await
        .unwrap();
    let alone = cli(&config, &["audit", "verify"], "").await;
    assert_eq!(
        alone.status.code(),
        Some(0),
        "without the outside checkpoints the cut is not seen: {}",
        String::from_utf8_lossy(&alone.stdout)
    );
    let against = cli(&config, &["audit", "verify", "--checkpoint-log", &log_arg], "").await;
    let out = String::from_utf8_lossy(&against.stdout).to_string();
    assert_eq!(against.status.code(), Some(1), "{out}");
    assert!(out.contains("BROKEN"), "{out}");
    let expect = cli(
        &config,
        &[
            "audit",
            "verify",
            "--expect",
            &format!("{last_seq}:{}", last["hash"].as_str().unwrap()),
        ],
        "",
    )
    .await;
    assert_eq!(expect.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&expect.stdout).contains("removed from the end"));
    let _ = std::fs::remove_file(&checkpoint_log);
}
