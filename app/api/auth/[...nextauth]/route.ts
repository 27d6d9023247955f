import { publicRoute } from '@/lib/auth/guard';
import { handlers } from '@/lib/auth/next-auth';

// GET/POST /api/auth/* — next-auth's sign-in, sign-out, CSRF and session endpoints (public by nature)
export const GET = publicRoute('next-auth endpoints: sign-in must be reachable signed out', handlers.GET);
export const POST = publicRoute('next-auth endpoints: sign-in must be reachable signed out', handlers.POST);
