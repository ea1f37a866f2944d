"""Release WASM sizes: the main module, then the first load of each page (split by route).

Run from the workspace root after `cargo leptos build --release --split`."""
import gzip, json, os
try:
    import brotli
except ImportError:
    brotli = None
pkg = "target/site/pkg"
def sizes(names):
    raw = br = gz = 0
    for n in names:
        d = open(os.path.join(pkg, n), "rb").read()
        raw += len(d)
        gz += len(gzip.compress(d, 9))
        br += len(brotli.compress(d, quality=11)) if brotli else 0
    return raw, gz, br
main = ["workspaces-portal.wasm"]
raw, gz, br = sizes(main)
print(f"main module: raw {raw} B, gzip -9 {gz} B, brotli -q 11 {br if brotli else 'n/a (pip install brotli)'} B")
manifest_path = os.path.join(pkg, "__wasm_split_manifest.json")
if os.path.exists(manifest_path):
    manifest = json.load(open(manifest_path))
    for split, chunks in sorted(manifest.items()):
        page = split.strip("_").rsplit("_", 1)[0].replace("_route_view", "")
        files = [c + ".wasm" for c in chunks]
        r, g, b = sizes(main + files)
        print(f"first load of {page:<13}: {len(files):3} files, raw {r} B, gzip {g} B, brotli {b} B")
