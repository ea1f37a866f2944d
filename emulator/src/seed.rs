//! Seeded data: directories, bundles and a varied fleet, generated deterministically so that
//! the same options give the same identifiers on every run.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::{
    Bundle, ComputeType, CreationProperties, Directory, DirectoryState, DirectoryType, RunningMode, Tag, Workspace,
    WorkspaceState,
};

/// The AWS account the emulator pretends to be.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";

/// How many WorkSpaces the emulator starts with unless told otherwise.
pub const DEFAULT_FLEET_SIZE: usize = 40;

/// What the store starts with.
#[derive(Clone, Debug)]
pub struct Seed {
    /// Number of WorkSpaces; 0 gives an empty fleet (directories and bundles remain).
    pub workspaces: usize,
}

impl Default for Seed {
    fn default() -> Self {
        Seed {
            workspaces: DEFAULT_FLEET_SIZE,
        }
    }
}

/// splitmix64: a tiny, well-mixed deterministic generator for seeded identifiers.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// `n` characters of [0-9a-z] drawn from `bits`, refreshed as it runs out.
pub fn base36(mut bits: u64, n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut salt = bits;
    for i in 0..n {
        if i % 12 == 11 {
            salt = mix(salt);
            bits = salt;
        }
        out.push(BASE36[(bits % 36) as usize] as char);
        bits /= 36;
    }
    out
}

pub fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn directories(account_id: &str) -> Vec<Directory> {
    let role = format!("arn:aws:iam::{account_id}:role/workspaces_DefaultRole");
    vec![
        Directory {
            id: "d-906734e5a1".into(),
            alias: "example-corp".into(),
            name: "corp.example.com".into(),
            customer_user_name: "Administrator".into(),
            directory_type: DirectoryType::SimpleAd,
            dns_ip_addresses: vec!["10.0.1.10".into(), "10.0.2.10".into()],
            iam_role_id: role.clone(),
            registration_code: "SLiad+CORPX7".into(),
            state: DirectoryState::Registered,
            subnet_ids: vec!["subnet-0a1b2c3d".into(), "subnet-1a2b3c4d".into()],
            security_group_id: "sg-0f1e2d3c".into(),
            creation_properties: CreationProperties {
                custom_security_group_id: Some("sg-7a8b9c0d".into()),
                default_ou: Some("OU=WorkSpaces,DC=corp,DC=example,DC=com".into()),
                enable_internet_access: true,
                enable_work_docs: true,
                user_enabled_as_local_administrator: false,
            },
        },
        Directory {
            id: "d-9067c2f8b4".into(),
            alias: "contoso".into(),
            name: "ad.contoso.local".into(),
            customer_user_name: "svc-workspaces".into(),
            directory_type: DirectoryType::AdConnector,
            dns_ip_addresses: vec!["172.16.0.2".into(), "172.16.1.2".into()],
            iam_role_id: role.clone(),
            registration_code: "WSpdx+CONTO9".into(),
            state: DirectoryState::Registered,
            subnet_ids: vec!["subnet-2b3c4d5e".into(), "subnet-3c4d5e6f".into()],
            security_group_id: "sg-1e2d3c4b".into(),
            creation_properties: CreationProperties {
                custom_security_group_id: None,
                default_ou: Some("OU=VDI,OU=Computers,DC=ad,DC=contoso,DC=local".into()),
                enable_internet_access: false,
                enable_work_docs: false,
                user_enabled_as_local_administrator: true,
            },
        },
        Directory {
            id: "d-90679d0e3c".into(),
            alias: "lab-example".into(),
            name: "lab.example.net".into(),
            customer_user_name: "Administrator".into(),
            directory_type: DirectoryType::SimpleAd,
            dns_ip_addresses: vec!["10.20.0.10".into(), "10.20.1.10".into()],
            iam_role_id: role,
            registration_code: "SLiad+LABZZ1".into(),
            state: DirectoryState::Error,
            subnet_ids: vec!["subnet-4d5e6f70".into(), "subnet-5e6f7081".into()],
            security_group_id: "sg-2d3c4b5a".into(),
            creation_properties: CreationProperties {
                custom_security_group_id: None,
                default_ou: None,
                enable_internet_access: false,
                enable_work_docs: false,
                user_enabled_as_local_administrator: false,
            },
        },
    ]
}

pub fn bundles(account_id: &str) -> Vec<Bundle> {
    let amazon = |id: &str, name: &str, description: &str, compute_type, gb| Bundle {
        id: id.into(),
        name: name.into(),
        owner: "AMAZON".into(),
        description: description.into(),
        compute_type,
        user_storage_gb: gb,
    };
    let own = |id: &str, name: &str, description: &str, compute_type, gb| Bundle {
        owner: account_id.to_string(),
        ..amazon(id, name, description, compute_type, gb)
    };
    vec![
        amazon(
            "wsb-bh8rsxt14",
            "Value with Windows 10",
            "Windows 10 Experience provided by Windows Server 2016, 1 vCPU, 2 GiB memory",
            ComputeType::Value,
            10,
        ),
        amazon(
            "wsb-92tn3b7gx",
            "Standard with Windows 10",
            "Windows 10 Experience provided by Windows Server 2016, 2 vCPU, 4 GiB memory",
            ComputeType::Standard,
            50,
        ),
        amazon(
            "wsb-1pzkp0bx4",
            "Performance with Windows 10",
            "Windows 10 Experience provided by Windows Server 2016, 2 vCPU, 7.5 GiB memory",
            ComputeType::Performance,
            100,
        ),
        amazon(
            "wsb-clj85qzj1",
            "Value with Amazon Linux 2",
            "Amazon Linux 2, 1 vCPU, 2 GiB memory",
            ComputeType::Value,
            10,
        ),
        amazon(
            "wsb-8vbljg4r6",
            "Standard with Amazon Linux 2",
            "Amazon Linux 2, 2 vCPU, 4 GiB memory",
            ComputeType::Standard,
            50,
        ),
        amazon(
            "wsb-d6j9x4m2q",
            "Performance with Amazon Linux 2",
            "Amazon Linux 2, 2 vCPU, 7.5 GiB memory",
            ComputeType::Performance,
            100,
        ),
        own(
            "wsb-3k7d0x2vq",
            "Engineering Desktop",
            "Windows 10 with Visual Studio, Git and Docker tooling",
            ComputeType::Performance,
            100,
        ),
        own(
            "wsb-6m2w9c4zt",
            "Finance Desktop",
            "Windows 10 with Office and the ERP client",
            ComputeType::Standard,
            50,
        ),
    ]
}

const FIRST_NAMES: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia",
    "peggy", "rupert", "sybil", "trent", "uma", "victor", "walter", "xena", "yusuf", "zoe", "amir", "bianca", "chen",
    "dmitri", "elif", "farah", "goran", "hana", "ines", "jonas", "kemal", "lena", "mateo", "noor", "oskar", "priya",
    "quentin",
];

const DEPARTMENTS: &[&str] = &["Engineering", "Finance", "Sales", "Support", "Marketing"];

/// The state and running mode of seeded WorkSpace `i`: mostly AVAILABLE, with STOPPED,
/// ERROR, IMPAIRED, UNHEALTHY, SUSPENDED and MAINTENANCE ones mixed in.
fn seeded_condition(i: usize) -> (WorkspaceState, RunningMode) {
    let mode = if i % 3 == 0 {
        RunningMode::AlwaysOn
    } else {
        RunningMode::AutoStop
    };
    match i % 20 {
        4 | 9 | 14 => (WorkspaceState::Stopped, RunningMode::AutoStop),
        7 => (WorkspaceState::Error, mode),
        11 => (WorkspaceState::Impaired, mode),
        17 => (WorkspaceState::Unhealthy, mode),
        19 if i % 40 == 19 => (WorkspaceState::Suspended, mode),
        19 => (WorkspaceState::Maintenance, mode),
        _ => (WorkspaceState::Available, mode),
    }
}

/// A seeded WorkSpace: `i` decides everything, so seeds are reproducible.
pub fn seeded_workspace(i: usize, directories: &[Directory], bundles: &[Bundle], now: i64) -> Workspace {
    let registered: Vec<&Directory> = directories
        .iter()
        .filter(|d| d.state == DirectoryState::Registered)
        .collect();
    let directory = registered[i % registered.len()];
    let bundle = &bundles[(i / registered.len()) % bundles.len()];
    let subnet_index = i % directory.subnet_ids.len();
    let subnet_id = directory.subnet_ids[subnet_index].clone();
    let h = mix(i as u64);
    let user_name = if i < FIRST_NAMES.len() {
        FIRST_NAMES[i].to_string()
    } else {
        format!("user{i:06}")
    };
    let (state, running_mode) = seeded_condition(i);
    let mut tags = vec![Tag {
        key: "Department".into(),
        value: DEPARTMENTS[i % DEPARTMENTS.len()].into(),
    }];
    if i % 2 == 0 {
        tags.push(Tag {
            key: "CostCenter".into(),
            value: format!("CC-{}", 1000 + (i % 7) * 100),
        });
    }
    if i % 5 == 0 {
        tags.push(Tag {
            key: "Project".into(),
            value: ["Apollo", "Borealis", "Cirrus"][i % 3].into(),
        });
    }
    let (error_code, error_message) = if state == WorkspaceState::Error {
        (
            Some("ResourceLimitExceeded.CPU".to_string()),
            Some(
                "The WorkSpace could not be launched: insufficient capacity in the subnet's Availability Zone."
                    .to_string(),
            ),
        )
    } else {
        (None, None)
    };
    let encrypted = i % 4 == 1;
    Workspace {
        id: format!("ws-{}", base36(h, 9)),
        directory_id: directory.id.clone(),
        bundle_id: bundle.id.clone(),
        user_name,
        computer_name: format!("WSAMZN-{}", base36(mix(h), 8).to_ascii_uppercase()),
        ip_address: ip_in_subnet(
            &directory.dns_ip_addresses[subnet_index % directory.dns_ip_addresses.len()],
            i as u32,
        ),
        subnet_id,
        state,
        transition: None,
        removal_at: None,
        properties_busy_until: None,
        running_mode,
        auto_stop_timeout_minutes: (running_mode == RunningMode::AutoStop).then_some(60 * (1 + (i % 3) as i32)),
        root_volume_encryption_enabled: encrypted,
        user_volume_encryption_enabled: encrypted,
        volume_encryption_key: encrypted.then(|| "alias/aws/workspaces".to_string()),
        error_code,
        error_message,
        tags,
        last_connection: now - 3600 * (1 + (h % 72) as i64),
    }
}

/// An address in the same /16 as `near`, distinct for each `n` below 65,000.
pub fn ip_in_subnet(near: &str, n: u32) -> String {
    let mut octets = near.split('.').take(2);
    let (a, b) = (octets.next().unwrap_or("10"), octets.next().unwrap_or("0"));
    let host = 1000 + n % 64_000;
    format!("{a}.{b}.{}.{}", 10 + host / 250, 1 + host % 250)
}

#[cfg(test)]
pub fn sample_workspace(id: &str) -> Workspace {
    let dirs = directories(DEFAULT_ACCOUNT_ID);
    let mut ws = seeded_workspace(0, &dirs, &bundles(DEFAULT_ACCOUNT_ID), 0);
    ws.id = id.to_string();
    ws
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::IdPattern;
    use std::collections::HashSet;

    #[test]
    fn seeded_identifiers_follow_the_reference_patterns() {
        let dirs = directories(DEFAULT_ACCOUNT_ID);
        for d in &dirs {
            assert!(IdPattern::Directory.matches(&d.id), "{}", d.id);
            assert!(
                IdPattern::SecurityGroup.matches(&d.security_group_id),
                "{}",
                d.security_group_id
            );
            assert!(
                d.subnet_ids.iter().all(|s| IdPattern::Subnet.matches(s)),
                "{:?}",
                d.subnet_ids
            );
            assert!((1..=20).contains(&d.registration_code.len()));
        }
        let bundles = bundles(DEFAULT_ACCOUNT_ID);
        assert!(bundles.iter().all(|b| IdPattern::Bundle.matches(&b.id)));
        for i in 0..2000 {
            let ws = seeded_workspace(i, &dirs, &bundles, 0);
            assert!(IdPattern::Workspace.matches(&ws.id), "{}", ws.id);
            assert!(IdPattern::Subnet.matches(&ws.subnet_id));
        }
    }

    #[test]
    fn the_seed_is_varied_as_the_issue_requires() {
        let dirs = directories(DEFAULT_ACCOUNT_ID);
        let registered: Vec<_> = dirs.iter().filter(|d| d.state == DirectoryState::Registered).collect();
        assert!(registered.iter().any(|d| d.directory_type == DirectoryType::SimpleAd));
        assert!(registered
            .iter()
            .any(|d| d.directory_type == DirectoryType::AdConnector));
        assert!(dirs.iter().any(|d| d.state != DirectoryState::Registered));

        let bundles = bundles(DEFAULT_ACCOUNT_ID);
        for ct in ComputeType::ALL {
            assert!(
                bundles.iter().any(|b| b.owner == "AMAZON" && b.compute_type == *ct),
                "{ct}"
            );
        }
        assert!(bundles.iter().any(|b| b.owner == DEFAULT_ACCOUNT_ID));

        let fleet: Vec<_> = (0..DEFAULT_FLEET_SIZE)
            .map(|i| seeded_workspace(i, &dirs, &bundles, 0))
            .collect();
        let states: HashSet<_> = fleet.iter().map(|w| w.state).collect();
        for s in [
            WorkspaceState::Available,
            WorkspaceState::Stopped,
            WorkspaceState::Error,
            WorkspaceState::Impaired,
        ] {
            assert!(states.contains(&s), "{s} missing");
        }
        assert!(fleet
            .iter()
            .all(|w| w.state != WorkspaceState::Stopped || w.running_mode == RunningMode::AutoStop));
        let modes: HashSet<_> = fleet.iter().map(|w| w.running_mode).collect();
        assert_eq!(modes.len(), 2);
        let dirs_used: HashSet<_> = fleet.iter().map(|w| &w.directory_id).collect();
        assert_eq!(dirs_used.len(), 2);
    }

    #[test]
    fn a_hundred_thousand_seeded_ids_are_unique() {
        let dirs = directories(DEFAULT_ACCOUNT_ID);
        let bundles = bundles(DEFAULT_ACCOUNT_ID);
        let ids: HashSet<String> = (0..100_000)
            .map(|i| seeded_workspace(i, &dirs, &bundles, 0).id)
            .collect();
        assert_eq!(ids.len(), 100_000);
    }
}
