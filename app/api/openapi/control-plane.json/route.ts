import { publicRoute } from '@/lib/auth/guard';
import { controlPlaneOpenApi } from '@/lib/openapi/control-plane';

// GET /api/openapi/control-plane.json — the control plane's OpenAPI document (public: it
// describes the API and reveals no data)
export const GET = publicRoute('OpenAPI document of the control plane: describes the API, reveals no data', () => Response.json(controlPlaneOpenApi()));
