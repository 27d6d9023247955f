// Azure's clients against a real Sandpool (issue 4, reference §10): each client's requests
// replayed as it sends them, and every field it reads asserted. One engine and two small pools
// serve the whole suite; each client's table of requests lives in its own module.
import { refusals } from './auth';
import { replayAutogen } from './autogen';
import { replayAzCli } from './az-cli';
import { useConformanceContext } from './context';
import { replayLangchainJs } from './langchain-js';
import { replayLangchainPython } from './langchain-python';
import { replayLlamaindexPython } from './llamaindex-python';
import { replayLlamaindexTs } from './llamaindex-ts';
import { replaySemanticKernelDotnet } from './semantic-kernel-dotnet';
import { replaySemanticKernelPython } from './semantic-kernel-python';
import { scenarios } from './scenarios';

const context = useConformanceContext();

replayLangchainPython(context);
replayLangchainJs(context);
replaySemanticKernelPython(context);
replaySemanticKernelDotnet(context);
replayAutogen(context);
replayLlamaindexPython(context);
replayLlamaindexTs(context);
replayAzCli(context);
scenarios(context);
refusals(context);
