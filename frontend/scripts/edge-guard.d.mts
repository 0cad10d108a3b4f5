export interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: string;
}
export function refusal(method: string | undefined, url: string | undefined): Refusal | null;
export function installEdgeGuard(): void;
