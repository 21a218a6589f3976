-- wrk script of benchmarks/bench.py: connect to the address in DJANGOOPS_WRK_ADDRESS instead of
-- looking the URL's host name up, as `curl --resolve` does. The name stays in the URL, so wrk still
-- sends it as TLS SNI and Host header (the proxy refuses handshakes for unknown names), while the
-- lab client, which has no DNS entry for the site, reaches the chosen proxy.
-- wrk loads this file before it resolves the URL and then calls wrk.resolve(host, service).
local address = os.getenv("DJANGOOPS_WRK_ADDRESS")

if address and address ~= "" then
   function wrk.resolve(host, service)
      local addrs = wrk.lookup(address, service)
      for i = #addrs, 1, -1 do
         if not wrk.connect(addrs[i]) then
            table.remove(addrs, i)
         end
      end
      wrk.addrs = addrs
   end
end
