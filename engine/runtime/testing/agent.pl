#!/usr/bin/perl
# Test agent for the runtime tests: listens on /run/sandpool/agent.sock (the bind-mounted host
# folder) and gives each connection a shell whose stdin/stdout/stderr are the connection. The
# host writes a script, half-closes, and reads the output until the shell exits. It proves that
# a socket created inside the sandbox is reachable from the host under runc and gVisor alike.
use strict;
use warnings;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);

my $path = '/run/sandpool/agent.sock';
unlink $path;
my $server = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path, Listen => 16)
  or die "agent: cannot listen on $path: $!\n";
$SIG{CHLD} = 'IGNORE';    # reap shells automatically
print STDERR "agent: listening on $path\n";

while (1) {
  my $conn = $server->accept or next;
  my $pid = fork;
  if (!defined $pid) {      # pids limit reached: say so instead of hanging the caller
    print $conn "agent: fork failed: $!\n";
    close $conn;
    next;
  }
  if ($pid == 0) {
    close $server;
    open STDIN, '<&', $conn or exit 126;
    open STDOUT, '>&', $conn or exit 126;
    open STDERR, '>&', $conn or exit 126;
    close $conn;
    exec '/bin/sh' or exit 127;
  }
  close $conn;
}
