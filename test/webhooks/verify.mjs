// Verifies one captured partner webhook delivery with the standardwebhooks
// reference library, independently of the gateway's Go signing code.
// Input on stdin: {"secret": "whsec_...", "headers": {...}, "body": "..."}.
// Exit 0 when the signature verifies, 1 (with the library's reason) when not.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { secret, headers, body } = JSON.parse(input);
try {
  new Webhook(secret).verify(body, headers);
  console.log("verified");
} catch (err) {
  console.error(`not verified: ${err.message}`);
  process.exit(1);
}
