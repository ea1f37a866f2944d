"""Seeds a running moto server with one registered directory and 25 WorkSpaces, so that
DescribeWorkspaces there returns a page as large as the emulator's (25 WorkSpaces)."""
import sys

import boto3

endpoint = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000"
session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1")
ec2 = session.client("ec2", endpoint_url=endpoint)
ds = session.client("ds", endpoint_url=endpoint)
ws = session.client("workspaces", endpoint_url=endpoint)

vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
    for i, az in ((1, "a"), (2, "b"))
]
directory = ds.create_directory(
    Name="corp.example.com", Password="P@ssw0rd-bench", Size="Small",
    VpcSettings={"VpcId": vpc, "SubnetIds": subnets},
)["DirectoryId"]
ws.register_workspace_directory(DirectoryId=directory)
requests = [
    {"DirectoryId": directory, "UserName": f"user{i:03}", "BundleId": "wsb-bh8rsxt14",
     "WorkspaceProperties": {"RunningMode": "AUTO_STOP", "RunningModeAutoStopTimeoutInMinutes": 60},
     "Tags": [{"Key": "Department", "Value": "Engineering"}]}
    for i in range(25)
]
out = ws.create_workspaces(Workspaces=requests)
count = len(ws.describe_workspaces()["Workspaces"])
print(f"moto seeded: {len(out['PendingRequests'])} created, {len(out['FailedRequests'])} failed, {count} listed")
