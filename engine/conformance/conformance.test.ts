// Azure's clients against a real Sandpool (issue 4, reference §10): each client's requests
// replayed as it sends them, and every field it reads asserted. One engine and two small pools
// serve the whole suite; each client's table of requests lives in its own module.
import { useConformanceContext } from './context';
import { replayLangchainPython } from './langchain-python';

const context = useConformanceContext();

replayLangchainPython(context);
