#!/usr/bin/env bash
# After `make demo`: show the site answering from the lab's outside client, and how to reach it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
lab_dir=${DJANGOOPS_LAB_DIR:-$top/.lab}
inventory=$(ansible-inventory -i "$top/inventories/lab" --list)
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1" <<<"$inventory"; }
proxy=$(field "d['nginx_proxy']['hosts'][0]")
proxy_ip=$(field "d['_meta']['hostvars']['$proxy']['ansible_host']")
domain=$(field "d['_meta']['hostvars']['$proxy']['lab_domain']")

curl_line="curl --cacert /lab/pki/pebble-production-root.pem --resolve $domain:443:$proxy_ip https://$domain/polls/"
echo "From the lab client (198.51.100.0/24, the 'public' side):"
for _ in 1 2 3 4; do
  docker exec djangoops-lab-client sh -c "$curl_line -sS -o /dev/null -w '  HTTPS %{http_code}, certificate verified=%{ssl_verify_result}, ' -D /tmp/h && grep -i '^x-served-by' /tmp/h | tr -d '\r'"
done
issuer=$(docker exec djangoops-lab-client sh -c "echo | openssl s_client -connect $proxy_ip:443 -servername $domain 2>/dev/null | openssl x509 -noout -issuer")
echo "  certificate $issuer (the lab's production Pebble CA)"
cat <<MSG

The polls app is served at https://$domain/polls/ through the proxy ($proxy, $proxy_ip).
  Try it from the lab client:
    docker exec djangoops-lab-client $curl_line
  Or from this machine (the lab's networks are local to it):
    curl --cacert $lab_dir/pki/pebble-production-root.pem --resolve $domain:443:$proxy_ip https://$domain/polls/
  Admin: https://$domain/admin/ as 'admin', password in $lab_dir/secrets/admin_password
Tear the lab down with: make lab-down
MSG
