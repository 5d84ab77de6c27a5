# report-ham.sieve - a message moved (or copied) out of Junk: not spam,
# unless it goes to the Trash (deleting spam says nothing about it).
# IMAPSieve runs it (imapsieve_mailbox2_*, 90-sekisho-report.conf).
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];

if environment :matches "imap.mailbox" "*" {
  set "mailbox" "${1}";
}
if string :is "${mailbox}" [ "Trash", "Deleted Messages", "ゴミ箱" ] {
  stop;
}
if environment :matches "imap.user" "*" {
  set "username" "${1}";
}
pipe :copy "sekisho-report" [ "ham", "${username}" ];
