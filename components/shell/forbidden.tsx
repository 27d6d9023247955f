import { Card, EmptyState } from '@/components/ui/card';

export function Forbidden({ what }: { what: string }) {
  return (
    <Card>
      <EmptyState title="You do not have access to this page">
        Your roles do not let you see {what}. Ask an Owner to assign you a role that does.
      </EmptyState>
    </Card>
  );
}
