//! The emulator driven through the real `aws-sdk-workspaces` client: every action, every rule
//! of the API reference, each error case, and the transitions over time.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::common::{eventually, start};
use aws_sdk_workspaces::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_workspaces::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_workspaces::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_workspaces::types::{
    ConnectionState, RebootRequest, RebuildRequest, RunningMode, StartRequest, StopRequest, Tag, TerminateRequest,
    Workspace, WorkspaceProperties, WorkspaceRequest, WorkspaceState,
};
use aws_sdk_workspaces::Client;
use workspaces_emulator::model::{Bundle, ComputeType, WorkspaceState as EmuState};
use workspaces_emulator::Protocol;

each_protocol!(
    the_client_speaks_the_protocol_under_test,
    walking_every_page_returns_each_workspace_once,
    workspaces_carry_every_field_of_the_data_type,
    describe_workspaces_filters,
    describe_workspaces_rejects_bad_parameters_naming_them,
    bundles_by_owner_or_id_never_both,
    bundle_and_directory_listings_page,
    directories_carry_their_registration_details,
    stop_then_start_moves_through_the_transitional_states,
    reboot_and_rebuild_return_to_available,
    terminated_workspaces_disappear,
    batch_actions_fail_per_item_and_let_the_others_proceed,
    batch_requests_are_validated_as_a_whole,
    create_workspaces_reports_each_request,
    create_workspaces_validates_every_request_first,
    modify_workspace_properties_rules,
    tags_are_added_overwritten_listed_and_deleted,
    connection_status_covers_the_fleet_and_depends_on_state,
    a_hundred_thousand_workspaces_are_served,
);
each_protocol!([tokio::test(flavor = "multi_thread", worker_threads = 4)] many_concurrent_clients_see_consistent_results);

const CORP: &str = "d-906734e5a1"; // REGISTERED SIMPLE_AD
const CONTOSO: &str = "d-9067c2f8b4"; // REGISTERED AD_CONNECTOR
const LAB: &str = "d-90679d0e3c"; // state ERROR
const STANDARD_BUNDLE: &str = "wsb-92tn3b7gx";

/// (code, message) of a failed call.
fn error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<impl std::fmt::Debug, SdkError<E, R>>,
) -> (String, String) {
    let err = result.expect_err("the call should fail");
    (
        err.code().unwrap_or_default().to_string(),
        err.message().unwrap_or_default().to_string(),
    )
}

/// A rule of the reference's prose was broken: `InvalidParameterValuesException` naming the
/// parameter.
fn assert_invalid(found: (String, String), parameter: &str) {
    assert_eq!(found.0, "InvalidParameterValuesException", "{found:?}");
    assert!(
        found.1.contains(parameter),
        "message should name {parameter}: {}",
        found.1
    );
}

/// A constraint of the service model was broken: `ValidationException`, in AWS's words, at the
/// member's path (`workspaces.1.member.userName`).
fn assert_constraint(found: (String, String), path: &str) {
    assert_eq!(found.0, "ValidationException", "{found:?}");
    assert!(
        found.1.starts_with("1 validation error detected: Value "),
        "one violation: {}",
        found.1
    );
    assert!(
        found
            .1
            .contains(&format!(" at '{path}' failed to satisfy constraint: Member must ")),
        "message should name {path}: {}",
        found.1
    );
}

/// Records the path and content type of every request the SDK sends.
#[derive(Debug, Default)]
struct SentRequests(Mutex<Vec<(String, String)>>);

#[derive(Debug)]
struct Recorder(Arc<SentRequests>);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let path = request.uri().split_once("://").map_or(request.uri(), |(_, rest)| rest);
        let path = path.find('/').map_or("/", |i| &path[i..]).to_string();
        let content_type = request.headers().get("content-type").unwrap_or_default().to_string();
        self.0 .0.lock().unwrap().push((path, content_type));
        Ok(())
    }
}

async fn the_client_speaks_the_protocol_under_test(protocol: Protocol) {
    let h = start(protocol, 1000, 3).await;
    let sent = Arc::new(SentRequests::default());
    let client = Client::from_conf(
        h.client
            .config()
            .to_builder()
            .interceptor(Recorder(sent.clone()))
            .build(),
    );
    let out = client.describe_workspaces().send().await.unwrap();
    assert_eq!(out.workspaces().len(), 3);
    let expected = match protocol {
        Protocol::AwsJson1_1 => ("/", "application/x-amz-json-1.1"),
        Protocol::RpcV2Cbor => (
            "/service/WorkspacesService/operation/DescribeWorkspaces",
            "application/cbor",
        ),
    };
    let sent = sent.0.lock().unwrap().clone();
    assert_eq!(sent, vec![(expected.0.to_string(), expected.1.to_string())]);
}

async fn all_workspaces(client: &Client) -> Vec<Workspace> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = client.describe_workspaces().set_next_token(token).send().await.unwrap();
        assert!(page.workspaces().len() <= 25);
        all.extend_from_slice(page.workspaces());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return all;
        }
    }
}

async fn state_of(client: &Client, id: &str) -> Option<WorkspaceState> {
    let out = client.describe_workspaces().workspace_ids(id).send().await.unwrap();
    out.workspaces().first().and_then(|w| w.state().cloned())
}

/// The first WorkSpace in `state` with `mode`.
async fn find(client: &Client, state: WorkspaceState, mode: RunningMode) -> String {
    all_workspaces(client)
        .await
        .into_iter()
        .find(|w| w.state() == Some(&state) && w.workspace_properties().and_then(|p| p.running_mode()) == Some(&mode))
        .and_then(|w| w.workspace_id().map(str::to_owned))
        .unwrap_or_else(|| panic!("no {state:?} {mode:?} WorkSpace in the seed"))
}

// ---------------------------------------------------------------------------------------------
// DescribeWorkspaces

async fn walking_every_page_returns_each_workspace_once(protocol: Protocol) {
    let h = start(protocol, 1000, 140).await;
    let all = all_workspaces(&h.client).await;
    let ids: HashSet<_> = all.iter().filter_map(|w| w.workspace_id()).collect();
    assert_eq!(all.len(), 140);
    assert_eq!(ids.len(), 140);

    // A smaller Limit gives smaller pages and still covers everything.
    let mut seen = 0;
    let mut token = None;
    loop {
        let page = h
            .client
            .describe_workspaces()
            .limit(10)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.workspaces().len() <= 10);
        seen += page.workspaces().len();
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, 140);

    // The SDK's own paginator agrees.
    let pages: Vec<_> = h
        .client
        .describe_workspaces()
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(
        pages.into_iter().map(|p| p.unwrap().workspaces().len()).sum::<usize>(),
        140
    );
}

async fn workspaces_carry_every_field_of_the_data_type(protocol: Protocol) {
    let h = start(protocol, 1000, 40).await;
    let all = all_workspaces(&h.client).await;
    for w in &all {
        assert!(w.workspace_id().unwrap().starts_with("ws-"));
        assert!(w.directory_id().is_some() && w.bundle_id().is_some() && w.user_name().is_some());
        assert!(w.computer_name().is_some() && w.ip_address().is_some() && w.subnet_id().is_some());
        assert!(w.state().is_some() && w.workspace_properties().and_then(|p| p.running_mode()).is_some());
    }
    let states: HashSet<_> = all.iter().filter_map(|w| w.state().cloned()).collect();
    for s in [
        WorkspaceState::Available,
        WorkspaceState::Stopped,
        WorkspaceState::Error,
        WorkspaceState::Impaired,
    ] {
        assert!(states.contains(&s), "seed lacks {s:?}");
    }
    let errored = all.iter().find(|w| w.state() == Some(&WorkspaceState::Error)).unwrap();
    assert!(errored.error_code().is_some() && errored.error_message().is_some());
    let tagged = h
        .client
        .describe_tags()
        .resource_id(all[0].workspace_id().unwrap())
        .send()
        .await
        .unwrap();
    assert!(!tagged.tag_list().is_empty());
}

async fn describe_workspaces_filters(protocol: Protocol) {
    let h = start(protocol, 1000, 40).await;
    let by_dir = h
        .client
        .describe_workspaces()
        .directory_id(CONTOSO)
        .send()
        .await
        .unwrap();
    assert!(!by_dir.workspaces().is_empty());
    assert!(by_dir.workspaces().iter().all(|w| w.directory_id() == Some(CONTOSO)));

    let by_bundle = h
        .client
        .describe_workspaces()
        .bundle_id(STANDARD_BUNDLE)
        .send()
        .await
        .unwrap();
    assert!(!by_bundle.workspaces().is_empty());
    assert!(by_bundle
        .workspaces()
        .iter()
        .all(|w| w.bundle_id() == Some(STANDARD_BUNDLE)));

    let user = by_dir.workspaces()[0].user_name().unwrap().to_string();
    let by_user = h
        .client
        .describe_workspaces()
        .directory_id(CONTOSO)
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(by_user.workspaces().len(), 1);
    assert_eq!(by_user.workspaces()[0].user_name(), Some(user.as_str()));

    let ids: Vec<String> = by_dir
        .workspaces()
        .iter()
        .take(3)
        .map(|w| w.workspace_id().unwrap().to_string())
        .collect();
    let by_ids = h
        .client
        .describe_workspaces()
        .set_workspace_ids(Some(vec![
            ids[0].clone(),
            ids[1].clone(),
            ids[2].clone(),
            "ws-doesnotexist".into(),
        ]))
        .send()
        .await
        .unwrap();
    let found: HashSet<_> = by_ids
        .workspaces()
        .iter()
        .map(|w| w.workspace_id().unwrap().to_string())
        .collect();
    assert_eq!(
        found,
        ids.iter().cloned().collect::<HashSet<_>>(),
        "unknown IDs are simply absent"
    );
}

async fn describe_workspaces_rejects_bad_parameters_naming_them(protocol: Protocol) {
    let h = start(protocol, 1000, 40).await;
    let c = &h.client;
    assert_invalid(
        error(
            c.describe_workspaces()
                .bundle_id(STANDARD_BUNDLE)
                .directory_id(CORP)
                .send()
                .await,
        ),
        "DirectoryId",
    );
    assert_invalid(
        error(
            c.describe_workspaces()
                .directory_id(CORP)
                .workspace_ids("ws-abcdefgh1")
                .send()
                .await,
        ),
        "WorkspaceIds",
    );
    assert_invalid(
        error(c.describe_workspaces().user_name("alice").send().await),
        "UserName",
    );
    assert_constraint(error(c.describe_workspaces().limit(0).send().await), "limit");
    assert_constraint(error(c.describe_workspaces().limit(26).send().await), "limit");
    assert_invalid(
        error(c.describe_workspaces().next_token("not-a-token").send().await),
        "NextToken",
    );
    assert_constraint(
        error(c.describe_workspaces().next_token("x".repeat(64)).send().await),
        "nextToken",
    );
    assert_constraint(error(c.describe_workspaces().next_token("").send().await), "nextToken");
    assert_constraint(
        error(c.describe_workspaces().workspace_ids("i-1234567890").send().await),
        "workspaceIds.1.member",
    );
    assert_constraint(
        error(c.describe_workspaces().bundle_id("wsb-SHOUTING1").send().await),
        "bundleId",
    );
    assert_constraint(
        error(c.describe_workspaces().directory_id("d-nothexxxxx").send().await),
        "directoryId",
    );
    assert_constraint(
        error(
            c.describe_workspaces()
                .directory_id(CORP)
                .user_name("u".repeat(64))
                .send()
                .await,
        ),
        "userName",
    );
    let too_many: Vec<String> = (0..26).map(|i| format!("ws-{i:09}")).collect();
    assert_constraint(
        error(c.describe_workspaces().set_workspace_ids(Some(too_many)).send().await),
        "workspaceIds",
    );
    // Every violation is reported, counted, before any rule of the action's own.
    let (code, message) = error(
        c.describe_workspaces()
            .bundle_id("wsb-SHOUTING1")
            .directory_id(CORP)
            .limit(0)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(
        message.starts_with("2 validation errors detected: Value 'wsb-SHOUTING1' at 'bundleId'"),
        "{message}"
    );
    assert!(message.contains("; Value '0' at 'limit'"), "{message}");
    // A token from another listing is not accepted either.
    {
        let mut emu = h.emulator.write();
        for i in 0..30 {
            emu.put_bundle(Bundle {
                id: format!("wsb-extra{i:04}"),
                name: format!("Extra {i}"),
                owner: "AMAZON".into(),
                description: "test".into(),
                compute_type: ComputeType::Value,
                user_storage_gb: 10,
            });
        }
    }
    let bundles = c.describe_workspace_bundles().owner("AMAZON").send().await.unwrap();
    let foreign = bundles
        .next_token()
        .expect("more than 25 AMAZON bundles page")
        .to_string();
    assert_invalid(
        error(c.describe_workspaces().next_token(foreign).send().await),
        "NextToken",
    );
}

// ---------------------------------------------------------------------------------------------
// Bundles and directories

async fn bundles_by_owner_or_id_never_both(protocol: Protocol) {
    let h = start(protocol, 1000, 0).await;
    let c = &h.client;
    let amazon = c.describe_workspace_bundles().owner("AMAZON").send().await.unwrap();
    assert!(amazon.bundles().iter().all(|b| b.owner() == Some("AMAZON")));
    let types: HashSet<_> = amazon
        .bundles()
        .iter()
        .filter_map(|b| b.compute_type().and_then(|t| t.name()).cloned())
        .collect();
    assert_eq!(types.len(), 3, "VALUE, STANDARD and PERFORMANCE: {types:?}");
    assert!(amazon
        .bundles()
        .iter()
        .all(|b| b.user_storage().is_some_and(|s| !s.capacity().is_empty())));

    // No owner: the bundles of the calling account.
    let own = c.describe_workspace_bundles().send().await.unwrap();
    assert!(!own.bundles().is_empty());
    assert!(own.bundles().iter().all(|b| b.owner() == Some("123456789012")));

    let one = c
        .describe_workspace_bundles()
        .bundle_ids(STANDARD_BUNDLE)
        .send()
        .await
        .unwrap();
    assert_eq!(one.bundles().len(), 1);
    assert_eq!(one.bundles()[0].name(), Some("Standard with Windows 10"));

    assert_invalid(
        error(
            c.describe_workspace_bundles()
                .bundle_ids(STANDARD_BUNDLE)
                .owner("AMAZON")
                .send()
                .await,
        ),
        "Owner",
    );
    assert_constraint(
        error(c.describe_workspace_bundles().bundle_ids("bundle-1").send().await),
        "bundleIds.1.member",
    );
}

async fn bundle_and_directory_listings_page(protocol: Protocol) {
    let h = start(protocol, 1000, 0).await;
    {
        let mut emu = h.emulator.write();
        let template = emu.describe_directories(Default::default()).unwrap();
        assert_eq!(template.directories.len(), 3);
        for i in 0..40 {
            emu.put_bundle(Bundle {
                id: format!("wsb-page{i:05}"),
                name: format!("Bundle {i}"),
                owner: "AMAZON".into(),
                description: "paged".into(),
                compute_type: ComputeType::Standard,
                user_storage_gb: 50,
            });
        }
        let base = workspaces_emulator::seed::directories("123456789012").remove(0);
        for i in 0..30 {
            emu.put_directory(workspaces_emulator::model::Directory {
                id: format!("d-{:010x}", 0xabc000 + i),
                ..base.clone()
            });
        }
    }
    let mut bundles = HashSet::new();
    let mut token = None;
    loop {
        let page = h
            .client
            .describe_workspace_bundles()
            .owner("AMAZON")
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        bundles.extend(page.bundles().iter().map(|b| b.bundle_id().unwrap().to_string()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(bundles.len(), 46);

    let first = h.client.describe_workspace_directories().send().await.unwrap();
    assert_eq!(first.directories().len(), 25);
    let rest = h
        .client
        .describe_workspace_directories()
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.directories().len(), 8);
    assert!(rest.next_token().is_none());
}

async fn directories_carry_their_registration_details(protocol: Protocol) {
    let h = start(protocol, 1000, 0).await;
    let out = h.client.describe_workspace_directories().send().await.unwrap();
    assert_eq!(out.directories().len(), 3);
    let corp = out
        .directories()
        .iter()
        .find(|d| d.directory_id() == Some(CORP))
        .unwrap();
    assert_eq!(corp.alias(), Some("example-corp"));
    assert_eq!(corp.directory_type().map(|t| t.as_str()), Some("SIMPLE_AD"));
    assert_eq!(corp.state().map(|s| s.as_str()), Some("REGISTERED"));
    assert_eq!(corp.dns_ip_addresses().len(), 2);
    assert_eq!(corp.subnet_ids().len(), 2);
    assert!(corp.workspace_security_group_id().unwrap().starts_with("sg-"));
    assert!(corp.registration_code().is_some() && corp.iam_role_id().is_some());
    let props = corp.workspace_creation_properties().unwrap();
    assert_eq!(props.enable_internet_access(), Some(true));
    assert!(props.default_ou().is_some());
    let contoso = out
        .directories()
        .iter()
        .find(|d| d.directory_id() == Some(CONTOSO))
        .unwrap();
    assert_eq!(contoso.directory_type().map(|t| t.as_str()), Some("AD_CONNECTOR"));

    let one = h
        .client
        .describe_workspace_directories()
        .directory_ids(LAB)
        .send()
        .await
        .unwrap();
    assert_eq!(one.directories().len(), 1);
    assert_eq!(one.directories()[0].state().map(|s| s.as_str()), Some("ERROR"));
    assert_constraint(
        error(
            h.client
                .describe_workspace_directories()
                .directory_ids("d-XYZ")
                .send()
                .await,
        ),
        "directoryIds.1.member",
    );
}

// ---------------------------------------------------------------------------------------------
// State transitions over time

async fn stop_then_start_moves_through_the_transitional_states(protocol: Protocol) {
    let h = start(protocol, 300, 40).await;
    let c = &h.client;
    let id = find(c, WorkspaceState::Available, RunningMode::AutoStop).await;

    let out = c
        .stop_workspaces()
        .stop_workspace_requests(StopRequest::builder().workspace_id(&id).build())
        .send()
        .await
        .unwrap();
    assert!(out.failed_requests().is_empty(), "{:?}", out.failed_requests());
    assert_eq!(state_of(c, &id).await, Some(WorkspaceState::Stopping));
    eventually("STOPPED", || async {
        state_of(c, &id).await == Some(WorkspaceState::Stopped)
    })
    .await;

    let status = c
        .describe_workspaces_connection_status()
        .workspace_ids(&id)
        .send()
        .await
        .unwrap();
    let status = &status.workspaces_connection_status()[0];
    assert_eq!(status.connection_state(), Some(&ConnectionState::UnknownValue));
    assert!(
        status.connection_state_check_timestamp().is_some() && status.last_known_user_connection_timestamp().is_some()
    );

    let out = c
        .start_workspaces()
        .start_workspace_requests(StartRequest::builder().workspace_id(&id).build())
        .send()
        .await
        .unwrap();
    assert!(out.failed_requests().is_empty());
    assert_eq!(state_of(c, &id).await, Some(WorkspaceState::Starting));
    eventually("AVAILABLE", || async {
        state_of(c, &id).await == Some(WorkspaceState::Available)
    })
    .await;
}

async fn reboot_and_rebuild_return_to_available(protocol: Protocol) {
    let h = start(protocol, 300, 40).await;
    let c = &h.client;
    let id = find(c, WorkspaceState::Available, RunningMode::AlwaysOn).await;
    let out = c
        .reboot_workspaces()
        .reboot_workspace_requests(RebootRequest::builder().workspace_id(&id).build().unwrap())
        .send()
        .await
        .unwrap();
    assert!(out.failed_requests().is_empty());
    assert_eq!(state_of(c, &id).await, Some(WorkspaceState::Rebooting));
    eventually("AVAILABLE after reboot", || async {
        state_of(c, &id).await == Some(WorkspaceState::Available)
    })
    .await;

    // An ERROR WorkSpace can be rebuilt; its error goes away.
    let broken = all_workspaces(c)
        .await
        .into_iter()
        .find(|w| w.state() == Some(&WorkspaceState::Error))
        .unwrap();
    let broken = broken.workspace_id().unwrap().to_string();
    let out = c
        .rebuild_workspaces()
        .rebuild_workspace_requests(RebuildRequest::builder().workspace_id(&broken).build().unwrap())
        .send()
        .await
        .unwrap();
    assert!(out.failed_requests().is_empty());
    assert_eq!(state_of(c, &broken).await, Some(WorkspaceState::Rebuilding));
    eventually("AVAILABLE after rebuild", || async {
        state_of(c, &broken).await == Some(WorkspaceState::Available)
    })
    .await;
    let rebuilt = c.describe_workspaces().workspace_ids(&broken).send().await.unwrap();
    assert_eq!(rebuilt.workspaces()[0].error_code(), None);
}

async fn terminated_workspaces_disappear(protocol: Protocol) {
    let h = start(protocol, 300, 40).await;
    let c = &h.client;
    let id = find(c, WorkspaceState::Stopped, RunningMode::AutoStop).await;
    let out = c
        .terminate_workspaces()
        .terminate_workspace_requests(TerminateRequest::builder().workspace_id(&id).build().unwrap())
        .send()
        .await
        .unwrap();
    assert!(out.failed_requests().is_empty());
    assert_eq!(state_of(c, &id).await, Some(WorkspaceState::Terminating));
    eventually("gone", || async { state_of(c, &id).await.is_none() }).await;
    assert_eq!(all_workspaces(c).await.len(), 39);
    // Once gone it is unknown to every action.
    let out = c
        .terminate_workspaces()
        .terminate_workspace_requests(TerminateRequest::builder().workspace_id(&id).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_requests()[0].error_code(), Some("ResourceNotFoundException"));
    assert_eq!(
        error(c.describe_tags().resource_id(&id).send().await).0,
        "ResourceNotFoundException"
    );
}

// ---------------------------------------------------------------------------------------------
// Batch actions: per-item failures

async fn batch_actions_fail_per_item_and_let_the_others_proceed(protocol: Protocol) {
    let h = start(protocol, 5000, 40).await;
    let c = &h.client;
    let available_auto = find(c, WorkspaceState::Available, RunningMode::AutoStop).await;
    let available_always = find(c, WorkspaceState::Available, RunningMode::AlwaysOn).await;
    let stopped = find(c, WorkspaceState::Stopped, RunningMode::AutoStop).await;
    let missing = "ws-00000none";

    let reqs = [&available_auto, &available_always, &stopped, &missing.to_string()]
        .map(|id| StopRequest::builder().workspace_id(id.as_str()).build());
    let out = c
        .stop_workspaces()
        .set_stop_workspace_requests(Some(reqs.to_vec()))
        .send()
        .await
        .unwrap();
    let failed: Vec<(&str, &str)> = out
        .failed_requests()
        .iter()
        .map(|f| (f.workspace_id().unwrap(), f.error_code().unwrap()))
        .collect();
    assert_eq!(
        failed,
        vec![
            (available_always.as_str(), "UnsupportedWorkspaceConfigurationException"),
            (stopped.as_str(), "InvalidResourceStateException"),
            (missing, "ResourceNotFoundException"),
        ]
    );
    assert!(out
        .failed_requests()
        .iter()
        .all(|f| f.error_message().is_some_and(|m| m.len() > 20)));
    assert_eq!(state_of(c, &available_auto).await, Some(WorkspaceState::Stopping));

    // Start: only STOPPED AUTO_STOP WorkSpaces.
    let out = c
        .start_workspaces()
        .start_workspace_requests(StartRequest::builder().workspace_id(&stopped).build())
        .start_workspace_requests(StartRequest::builder().workspace_id(&available_always).build())
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_requests().len(), 1);
    assert_eq!(out.failed_requests()[0].workspace_id(), Some(available_always.as_str()));

    // Reboot refuses a STOPPED one (now STARTING) and one still STOPPING.
    let out = c
        .reboot_workspaces()
        .reboot_workspace_requests(RebootRequest::builder().workspace_id(&available_auto).build().unwrap())
        .reboot_workspace_requests(
            RebootRequest::builder()
                .workspace_id(&available_always)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let failed: Vec<_> = out
        .failed_requests()
        .iter()
        .map(|f| f.workspace_id().unwrap())
        .collect();
    assert_eq!(failed, vec![available_auto.as_str()]);

    // Terminate refuses SUSPENDED only.
    h.emulator
        .write()
        .force_state(&available_always, EmuState::Suspended, std::time::Instant::now())
        .unwrap();
    let out = c
        .terminate_workspaces()
        .terminate_workspace_requests(
            TerminateRequest::builder()
                .workspace_id(&available_always)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.failed_requests()[0].error_code(),
        Some("InvalidResourceStateException")
    );
    assert!(out.failed_requests()[0].error_message().unwrap().contains("SUSPENDED"));
}

async fn batch_requests_are_validated_as_a_whole(protocol: Protocol) {
    let h = start(protocol, 1000, 40).await;
    let c = &h.client;
    let ids: Vec<String> = all_workspaces(c)
        .await
        .iter()
        .take(2)
        .map(|w| w.workspace_id().unwrap().to_string())
        .collect();
    let rebuild_two = c
        .rebuild_workspaces()
        .rebuild_workspace_requests(RebuildRequest::builder().workspace_id(&ids[0]).build().unwrap())
        .rebuild_workspace_requests(RebuildRequest::builder().workspace_id(&ids[1]).build().unwrap())
        .send()
        .await;
    assert_constraint(error(rebuild_two), "rebuildWorkspaceRequests");

    let many: Vec<_> = (0..26)
        .map(|i| {
            RebootRequest::builder()
                .workspace_id(format!("ws-{i:09}"))
                .build()
                .unwrap()
        })
        .collect();
    assert_constraint(
        error(
            c.reboot_workspaces()
                .set_reboot_workspace_requests(Some(many))
                .send()
                .await,
        ),
        "rebootWorkspaceRequests",
    );
    assert_constraint(
        error(
            c.reboot_workspaces()
                .set_reboot_workspace_requests(Some(vec![]))
                .send()
                .await,
        ),
        "rebootWorkspaceRequests",
    );
    let bad = StartRequest::builder().workspace_id("ws-BAD").build();
    let found = error(
        c.start_workspaces()
            .start_workspace_requests(StartRequest::builder().workspace_id(&ids[0]).build())
            .start_workspace_requests(bad)
            .send()
            .await,
    );
    assert_constraint(found, "startWorkspaceRequests.2.member.workspaceId");
    // Nothing changed: validation happens before any item is processed.
    let states: Vec<_> = all_workspaces(c)
        .await
        .iter()
        .filter_map(|w| w.state().cloned())
        .collect();
    assert!(!states.contains(&WorkspaceState::Starting));
    assert!(!states.contains(&WorkspaceState::Rebooting));
}

// ---------------------------------------------------------------------------------------------
// CreateWorkspaces

fn request(directory: &str, bundle: &str, user: &str) -> WorkspaceRequest {
    WorkspaceRequest::builder()
        .directory_id(directory)
        .bundle_id(bundle)
        .user_name(user)
        .build()
        .unwrap()
}

async fn create_workspaces_reports_each_request(protocol: Protocol) {
    let h = start(protocol, 300, 40).await;
    let c = &h.client;
    let existing = all_workspaces(c)
        .await
        .into_iter()
        .find(|w| w.directory_id() == Some(CORP))
        .unwrap();
    let existing_user = existing.user_name().unwrap().to_uppercase(); // directory users are case-insensitive

    let good = WorkspaceRequest::builder()
        .directory_id(CORP)
        .bundle_id(STANDARD_BUNDLE)
        .user_name("new.user")
        .root_volume_encryption_enabled(true)
        .user_volume_encryption_enabled(true)
        .volume_encryption_key("arn:aws:kms:us-east-1:123456789012:key/1234abcd")
        .tags(Tag::builder().key("Team").value("QA").build().unwrap())
        .workspace_properties(
            WorkspaceProperties::builder()
                .running_mode(RunningMode::AutoStop)
                .running_mode_auto_stop_timeout_in_minutes(120)
                .build(),
        )
        .build()
        .unwrap();
    let out = c
        .create_workspaces()
        .workspaces(good)
        .workspaces(request(CONTOSO, STANDARD_BUNDLE, "second.user"))
        .workspaces(request("d-0000000000", STANDARD_BUNDLE, "ghost"))
        .workspaces(request(LAB, STANDARD_BUNDLE, "lab.user"))
        .workspaces(request(CORP, "wsb-00000none", "nobundle"))
        .workspaces(request(CORP, STANDARD_BUNDLE, &existing_user))
        .workspaces(request(CORP, STANDARD_BUNDLE, "new.user")) // the same user twice in one call
        .send()
        .await
        .unwrap();

    let pending = out.pending_requests();
    assert_eq!(pending.len(), 2);
    let created = &pending[0];
    assert_eq!(created.state(), Some(&WorkspaceState::Pending));
    assert!(created.workspace_id().unwrap().starts_with("ws-"));
    assert!(created.computer_name().is_some() && created.ip_address().is_some());
    assert!(created.subnet_id().unwrap().starts_with("subnet-"));
    assert_eq!(created.root_volume_encryption_enabled(), Some(true));
    assert_eq!(
        created.volume_encryption_key(),
        Some("arn:aws:kms:us-east-1:123456789012:key/1234abcd")
    );
    let props = created.workspace_properties().unwrap();
    assert_eq!(props.running_mode(), Some(&RunningMode::AutoStop));
    assert_eq!(props.running_mode_auto_stop_timeout_in_minutes(), Some(120));
    assert_eq!(
        pending[1].workspace_properties().unwrap().running_mode(),
        Some(&RunningMode::AlwaysOn),
        "default mode"
    );

    let failed: Vec<(&str, &str)> = out
        .failed_requests()
        .iter()
        .map(|f| (f.workspace_request().unwrap().user_name(), f.error_code().unwrap()))
        .collect();
    assert_eq!(
        failed,
        vec![
            ("ghost", "ResourceNotFoundException"),
            ("lab.user", "InvalidResourceStateException"),
            ("nobundle", "ResourceNotFoundException"),
            (existing_user.as_str(), "ResourceAlreadyExistsException"),
            ("new.user", "ResourceAlreadyExistsException"),
        ]
    );
    // The original request comes back untouched.
    let echoed = out.failed_requests()[0].workspace_request().unwrap();
    assert_eq!(
        (echoed.directory_id(), echoed.bundle_id()),
        ("d-0000000000", STANDARD_BUNDLE)
    );

    let id = created.workspace_id().unwrap().to_string();
    assert_eq!(state_of(c, &id).await, Some(WorkspaceState::Pending));
    eventually("AVAILABLE after create", || async {
        state_of(c, &id).await == Some(WorkspaceState::Available)
    })
    .await;
    let tags = c.describe_tags().resource_id(&id).send().await.unwrap();
    assert_eq!(tags.tag_list().len(), 1);
    assert_eq!(
        (tags.tag_list()[0].key(), tags.tag_list()[0].value()),
        ("Team", Some("QA"))
    );
    assert_eq!(all_workspaces(c).await.len(), 42);
}

async fn create_workspaces_validates_every_request_first(protocol: Protocol) {
    let h = start(protocol, 300, 0).await;
    let c = &h.client;
    let too_many: Vec<_> = (0..26)
        .map(|i| request(CORP, STANDARD_BUNDLE, &format!("u{i}")))
        .collect();
    assert_constraint(
        error(c.create_workspaces().set_workspaces(Some(too_many)).send().await),
        "workspaces",
    );
    assert_constraint(
        error(
            c.create_workspaces()
                .workspaces(request(CORP, STANDARD_BUNDLE, &"x".repeat(64)))
                .send()
                .await,
        ),
        "workspaces.1.member.userName",
    );
    assert_constraint(
        error(
            c.create_workspaces()
                .workspaces(request(CORP, STANDARD_BUNDLE, "ok"))
                .workspaces(request("d-XYZ", STANDARD_BUNDLE, "ok2"))
                .send()
                .await,
        ),
        "workspaces.2.member.directoryId",
    );
    let odd_timeout = WorkspaceRequest::builder()
        .directory_id(CORP)
        .bundle_id(STANDARD_BUNDLE)
        .user_name("t")
        .workspace_properties(
            WorkspaceProperties::builder()
                .running_mode(RunningMode::AutoStop)
                .running_mode_auto_stop_timeout_in_minutes(90)
                .build(),
        )
        .build()
        .unwrap();
    assert_invalid(
        error(c.create_workspaces().workspaces(odd_timeout).send().await),
        "RunningModeAutoStopTimeoutInMinutes",
    );
    let bad_mode = WorkspaceRequest::builder()
        .directory_id(CORP)
        .bundle_id(STANDARD_BUNDLE)
        .user_name("t")
        .workspace_properties(
            WorkspaceProperties::builder()
                .running_mode(RunningMode::from("SOMETIMES"))
                .build(),
        )
        .build()
        .unwrap();
    assert_constraint(
        error(c.create_workspaces().workspaces(bad_mode).send().await),
        "workspaces.1.member.workspaceProperties.runningMode",
    );
    let mut fat = WorkspaceRequest::builder()
        .directory_id(CORP)
        .bundle_id(STANDARD_BUNDLE)
        .user_name("t");
    for i in 0..51 {
        fat = fat.tags(Tag::builder().key(format!("k{i}")).value("v").build().unwrap());
    }
    let found = error(c.create_workspaces().workspaces(fat.build().unwrap()).send().await);
    assert_eq!(found.0, "ResourceLimitExceededException");
    assert!(all_workspaces(c).await.is_empty(), "refused calls create nothing");
}

// ---------------------------------------------------------------------------------------------
// ModifyWorkspaceProperties

async fn modify_workspace_properties_rules(protocol: Protocol) {
    let h = start(protocol, 400, 40).await;
    let c = &h.client;
    let id = find(c, WorkspaceState::Available, RunningMode::AutoStop).await;
    let props = |mode: RunningMode, minutes: Option<i32>| {
        WorkspaceProperties::builder()
            .running_mode(mode)
            .set_running_mode_auto_stop_timeout_in_minutes(minutes)
            .build()
    };

    c.modify_workspace_properties()
        .workspace_id(&id)
        .workspace_properties(props(RunningMode::AutoStop, Some(180)))
        .send()
        .await
        .unwrap();
    let ws = c.describe_workspaces().workspace_ids(&id).send().await.unwrap();
    assert_eq!(
        ws.workspaces()[0]
            .workspace_properties()
            .unwrap()
            .running_mode_auto_stop_timeout_in_minutes(),
        Some(180)
    );

    // While the change is applied, another one is refused.
    let busy = error(
        c.modify_workspace_properties()
            .workspace_id(&id)
            .workspace_properties(props(RunningMode::AlwaysOn, None))
            .send()
            .await,
    );
    assert_eq!(busy.0, "OperationInProgressException");
    eventually("the change applied", || async {
        c.modify_workspace_properties()
            .workspace_id(&id)
            .workspace_properties(props(RunningMode::AlwaysOn, None))
            .send()
            .await
            .is_ok()
    })
    .await;
    let ws = c.describe_workspaces().workspace_ids(&id).send().await.unwrap();
    let p = ws.workspaces()[0].workspace_properties().unwrap();
    assert_eq!(
        (p.running_mode(), p.running_mode_auto_stop_timeout_in_minutes()),
        (Some(&RunningMode::AlwaysOn), None)
    );

    assert_invalid(
        error(
            c.modify_workspace_properties()
                .workspace_id(&id)
                .workspace_properties(props(RunningMode::AutoStop, Some(45)))
                .send()
                .await,
        ),
        "RunningModeAutoStopTimeoutInMinutes",
    );
    assert_constraint(
        error(
            c.modify_workspace_properties()
                .workspace_id("ws-!")
                .workspace_properties(props(RunningMode::AutoStop, None))
                .send()
                .await,
        ),
        "workspaceId",
    );
    let missing = error(
        c.modify_workspace_properties()
            .workspace_id("ws-00000none")
            .workspace_properties(props(RunningMode::AutoStop, None))
            .send()
            .await,
    );
    assert_eq!(missing.0, "ResourceNotFoundException");

    // A WorkSpace in a transitional state cannot be modified.
    let other = find(c, WorkspaceState::Available, RunningMode::AutoStop).await;
    c.stop_workspaces()
        .stop_workspace_requests(StopRequest::builder().workspace_id(&other).build())
        .send()
        .await
        .unwrap();
    let state = error(
        c.modify_workspace_properties()
            .workspace_id(&other)
            .workspace_properties(props(RunningMode::AlwaysOn, None))
            .send()
            .await,
    );
    assert_eq!(state.0, "InvalidResourceStateException");
    assert!(state.1.contains("STOPPING"), "{}", state.1);
}

// ---------------------------------------------------------------------------------------------
// Tags

async fn tags_are_added_overwritten_listed_and_deleted(protocol: Protocol) {
    let h = start(protocol, 1000, 40).await;
    let c = &h.client;
    let id = all_workspaces(c).await[0].workspace_id().unwrap().to_string();
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    let before = c
        .describe_tags()
        .resource_id(&id)
        .send()
        .await
        .unwrap()
        .tag_list()
        .len();

    c.create_tags()
        .resource_id(&id)
        .tags(tag("Owner", "alice"))
        .tags(tag("Env", "prod"))
        .send()
        .await
        .unwrap();
    c.create_tags()
        .resource_id(&id)
        .tags(tag("Owner", "bob"))
        .send()
        .await
        .unwrap();
    let tags = c.describe_tags().resource_id(&id).send().await.unwrap();
    assert_eq!(tags.tag_list().len(), before + 2, "overwriting never duplicates");
    let owner: Vec<_> = tags.tag_list().iter().filter(|t| t.key() == "Owner").collect();
    assert_eq!(owner.len(), 1);
    assert_eq!(owner[0].value(), Some("bob"));

    c.delete_tags()
        .resource_id(&id)
        .tag_keys("Owner")
        .tag_keys("NotThere")
        .send()
        .await
        .unwrap();
    let tags = c.describe_tags().resource_id(&id).send().await.unwrap();
    assert!(tags.tag_list().iter().all(|t| t.key() != "Owner"));
    assert_eq!(tags.tag_list().len(), before + 1);

    // At most 50 tags.
    let room = 50 - (before + 1);
    let fill: Vec<Tag> = (0..room).map(|i| tag(&format!("fill{i}"), "x")).collect();
    c.create_tags()
        .resource_id(&id)
        .set_tags(Some(fill))
        .send()
        .await
        .unwrap();
    let over = error(
        c.create_tags()
            .resource_id(&id)
            .tags(tag("one-too-many", "x"))
            .send()
            .await,
    );
    assert_eq!(over.0, "ResourceLimitExceededException");
    c.create_tags()
        .resource_id(&id)
        .tags(tag("Env", "staging"))
        .send()
        .await
        .expect("overwriting at the limit is fine");
    assert_eq!(
        c.describe_tags()
            .resource_id(&id)
            .send()
            .await
            .unwrap()
            .tag_list()
            .len(),
        50
    );

    assert_eq!(
        error(
            c.create_tags()
                .resource_id("ws-00000none")
                .tags(tag("a", "b"))
                .send()
                .await
        )
        .0,
        "ResourceNotFoundException"
    );
    assert_eq!(
        error(c.delete_tags().resource_id("ws-00000none").tag_keys("a").send().await).0,
        "ResourceNotFoundException"
    );
    assert_eq!(
        error(c.describe_tags().resource_id("ws-00000none").send().await).0,
        "ResourceNotFoundException"
    );
    assert_constraint(
        error(
            c.create_tags()
                .resource_id(&id)
                .tags(tag(&"k".repeat(128), "v"))
                .send()
                .await,
        ),
        "tags.1.member.key",
    );
    assert_constraint(
        error(
            c.create_tags()
                .resource_id(&id)
                .tags(tag("k", &"v".repeat(256)))
                .send()
                .await,
        ),
        "tags.1.member.value",
    );
    assert_invalid(
        error(
            c.create_tags()
                .resource_id(&id)
                .tags(tag("aws:owner", "me"))
                .send()
                .await,
        ),
        "Tags[0].Key",
    );
    assert_invalid(
        error(c.create_tags().resource_id(&id).set_tags(Some(vec![])).send().await),
        "Tags",
    );
    assert_constraint(
        error(c.delete_tags().resource_id(&id).tag_keys("").send().await),
        "tagKeys.1.member",
    );
    assert_constraint(error(c.describe_tags().resource_id("").send().await), "resourceId");
}

// ---------------------------------------------------------------------------------------------
// Connection status

async fn connection_status_covers_the_fleet_and_depends_on_state(protocol: Protocol) {
    let h = start(protocol, 1000, 60).await;
    let c = &h.client;
    let mut statuses = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .describe_workspaces_connection_status()
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        statuses.extend_from_slice(page.workspaces_connection_status());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(statuses.len(), 60);
    let fleet = all_workspaces(c).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut connected = 0;
    for s in &statuses {
        let checked = s.connection_state_check_timestamp().unwrap().secs();
        assert!((now - 5..=now + 5).contains(&checked), "{checked} vs {now}");
        assert!(s.last_known_user_connection_timestamp().unwrap().secs() <= now);
        let ws = fleet.iter().find(|w| w.workspace_id() == s.workspace_id()).unwrap();
        match ws.state().unwrap() {
            WorkspaceState::Available | WorkspaceState::Impaired | WorkspaceState::Unhealthy => {
                assert!(matches!(
                    s.connection_state(),
                    Some(ConnectionState::Connected | ConnectionState::Disconnected)
                ));
                connected += (s.connection_state() == Some(&ConnectionState::Connected)) as usize;
            }
            WorkspaceState::Stopped => assert_eq!(s.connection_state(), Some(&ConnectionState::UnknownValue)),
            _ => {}
        }
    }
    assert!(connected > 5, "some users are connected: {connected}");
    assert_constraint(
        error(
            c.describe_workspaces_connection_status()
                .workspace_ids("nope")
                .send()
                .await,
        ),
        "workspaceIds.1.member",
    );
    assert_invalid(
        error(c.describe_workspaces_connection_status().next_token("zzz").send().await),
        "NextToken",
    );
}

// ---------------------------------------------------------------------------------------------
// Scale and concurrency

async fn a_hundred_thousand_workspaces_are_served(protocol: Protocol) {
    let h = start(protocol, 1000, 100_000).await;
    let first = h.client.describe_workspaces().send().await.unwrap();
    assert_eq!(first.workspaces().len(), 25);
    let second = h
        .client
        .describe_workspaces()
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert!(second.workspaces()[0].workspace_id() > first.workspaces()[24].workspace_id());
    let user = h
        .client
        .describe_workspaces()
        .directory_id(CORP)
        .user_name("user099998")
        .send()
        .await
        .unwrap();
    assert_eq!(user.workspaces().len(), 1);
}

async fn many_concurrent_clients_see_consistent_results(protocol: Protocol) {
    let h = start(protocol, 50, 200).await;
    let ids: Vec<String> = all_workspaces(&h.client)
        .await
        .iter()
        .map(|w| w.workspace_id().unwrap().to_string())
        .collect();
    let mut tasks = Vec::new();
    for t in 0..32 {
        let c = h.client.clone();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..10 {
                let id = &ids[(t * 7 + round) % ids.len()];
                let _ = c
                    .reboot_workspaces()
                    .reboot_workspace_requests(RebootRequest::builder().workspace_id(id).build().unwrap())
                    .send()
                    .await
                    .unwrap();
                c.create_tags()
                    .resource_id(id)
                    .tags(
                        Tag::builder()
                            .key(format!("t{t}"))
                            .value(round.to_string())
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
                let page = c.describe_workspaces().limit(25).send().await.unwrap();
                assert_eq!(page.workspaces().len(), 25);
            }
        }));
    }
    for task in tasks {
        task.await.expect("no task panicked");
    }
    assert_eq!(all_workspaces(&h.client).await.len(), 200);
    // Each task's last tag write is there.
    let tags = h.client.describe_tags().resource_id(&ids[9]).send().await.unwrap();
    assert!(tags.tag_list().iter().any(|t| t.key() == "t0" || t.key() == "t1"));
}
