# report-spam.sieve - a message moved (or copied) into Junk: spam.
# IMAPSieve runs it (imapsieve_mailbox1_*, 90-sekisho-report.conf).
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];

if environment :matches "imap.user" "*" {
  set "username" "${1}";
}
pipe :copy "sekisho-report" [ "spam", "${username}" ];
