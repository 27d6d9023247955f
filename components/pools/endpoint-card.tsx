import { Card, CardHeader } from '@/components/ui/card';
import { CopyButton } from '@/components/ui/copy-button';

/** The pool's endpoint and a request that works as pasted, once the two ids are filled in. */
export function EndpointCard({ endpoint, portalUrl }: { endpoint: string; portalUrl: string }) {
  const example = `# A service principal with the Session Executor role on this pool gets a token
# (Service principals page; on the Sandpool host also: TOKEN=$(npx sandpool token $CLIENT_ID)):
TOKEN=$(curl -s ${portalUrl}/oauth2/v2.0/token \\
  -d grant_type=client_credentials -d client_id=$CLIENT_ID -d client_secret=$CLIENT_SECRET \\
  -d scope=https://dynamicsessions.io/.default | jq -r .access_token)

# One identifier is one session: reuse it to keep variables and files.
curl -s -X POST "${endpoint}/code/execute?api-version=2024-02-02-preview&identifier=$(uuidgen)" \\
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
  -d '{"properties": {"codeInputType": "inline", "executionType": "synchronous", "code": "6 * 7"}}'`;
  return (
    <Card>
      <CardHeader title="Endpoint" description="Azure's data-plane API: the same clients (LangChain, Semantic Kernel, AutoGen, the az CLI) work unchanged." />
      <div className="space-y-4 px-5 py-4">
        <div className="flex items-center gap-2">
          <code data-testid="pool-endpoint" className="min-w-0 flex-1 overflow-x-auto rounded bg-zinc-100 px-2 py-1.5 font-mono text-xs whitespace-nowrap dark:bg-zinc-800">
            {endpoint}
          </code>
          <CopyButton value={endpoint} label="Copy endpoint" />
        </div>
        <div>
          <div className="mb-1.5 flex items-center justify-between">
            <h3 className="text-sm font-medium">Example request</h3>
            <CopyButton value={example} label="Copy example" />
          </div>
          <pre data-testid="pool-example" className="overflow-x-auto rounded bg-zinc-100 px-3 py-2.5 font-mono text-xs leading-relaxed dark:bg-zinc-800">
            {example}
          </pre>
        </div>
      </div>
    </Card>
  );
}
