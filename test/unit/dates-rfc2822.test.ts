/**
 * Table tests of the date parsers. Every row names its source: the RFC 5322 appendix A examples,
 * RFC 9110 §5.6.7's HTTP-date examples, RFC 3339 §5.8, and the date tests of CPython
 * (Lib/test/test_email/test_email.py and test_utils.py) and Go (src/net/mail/message_test.go,
 * TestDateParsing and TestDateParsingCFWS). Where we decide differently from the source, `note`
 * says why.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseInstant, parseIso8601, parseRfc2822, type DateErrorCode, type ParsedDate } from '../../shared/dates/index.js'
import { ZONES } from '../../shared/dates/zones.js'

interface Accept { source: string, input: string, iso: string, offset: number | null, note?: string }
interface Refuse { source: string, input: string, code: DateErrorCode, note?: string }

const RFC5322 = 'RFC 5322 appendix'
const GO = 'Go src/net/mail/message_test.go'
const PY = 'CPython Lib/test/test_email'

const accepted: Accept[] = [
  { source: `${RFC5322} A.1.1`, input: 'Fri, 21 Nov 1997 09:55:06 -0600', iso: '1997-11-21T15:55:06.000Z', offset: -360 },
  { source: `${RFC5322} A.1.2`, input: 'Tue, 1 Jul 2003 10:52:37 +0200', iso: '2003-07-01T08:52:37.000Z', offset: 120 },
  { source: `${RFC5322} A.1.3`, input: 'Thu, 13 Feb 1969 23:32:54 -0330', iso: '1969-02-14T03:02:54.000Z', offset: -210 },
  { source: `${RFC5322} A.2`, input: 'Fri, 21 Nov 1997 10:01:10 -0600', iso: '1997-11-21T16:01:10.000Z', offset: -360 },
  { source: `${RFC5322} A.3 (Resent-Date)`, input: 'Mon, 24 Nov 1997 14:22:01 -0800', iso: '1997-11-24T22:22:01.000Z', offset: -480 },
  {
    source: `${RFC5322} A.5 (white space, comments)`,
    input: 'Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)',
    iso: '1969-02-14T03:02:00.000Z',
    offset: -210
  },
  { source: `${RFC5322} A.6.2 (obsolete dates)`, input: '21 Nov 97 09:55:06 GMT', iso: '1997-11-21T09:55:06.000Z', offset: 0 },
  { source: `${RFC5322} A.6.3 (obsolete white space, comments)`, input: 'Fri, 21 Nov 1997 09(comment):   55  :  06 -0600', iso: '1997-11-21T15:55:06.000Z', offset: -360 },

  { source: 'RFC 9110 §5.6.7 (IMF-fixdate)', input: 'Sun, 06 Nov 1994 08:49:37 GMT', iso: '1994-11-06T08:49:37.000Z', offset: 0 },
  { source: 'RFC 9110 §5.6.7 (RFC 850)', input: 'Sunday, 06-Nov-94 08:49:37 GMT', iso: '1994-11-06T08:49:37.000Z', offset: 0 },
  { source: 'RFC 9110 §5.6.7 (asctime)', input: 'Sun Nov  6 08:49:37 1994', iso: '1994-11-06T08:49:37.000Z', offset: 0 },
  { source: 'Mailgun API docs (Date header)', input: 'Thu, 13 Oct 2011 18:02:00 +0000', iso: '2011-10-13T18:02:00.000Z', offset: 0 },

  { source: `${GO} TestDateParsing`, input: 'Fri, 21 Nov 1997 09:55:06 -0600 (MDT)', iso: '1997-11-21T15:55:06.000Z', offset: -360 },
  { source: `${GO} TestDateParsing`, input: 'Thu, 20 Nov 1997 09:55:06 -0600 (MDT)', iso: '1997-11-20T15:55:06.000Z', offset: -360 },
  { source: `${GO} TestDateParsing`, input: 'Thu, 20 Nov 1997 09:55:06 GMT (GMT)', iso: '1997-11-20T09:55:06.000Z', offset: 0 },
  { source: `${GO} TestDateParsing`, input: 'Fri, 21 Nov 1997 09:55:06 +1300 (TOT)', iso: '1997-11-20T20:55:06.000Z', offset: 780 },
  { source: `${GO} TestDateParsingCFWS`, input: '   Fri, 21 Nov 1997 09:55:06 -0600', iso: '1997-11-21T15:55:06.000Z', offset: -360 },
  { source: `${GO} TestDateParsingCFWS`, input: '21 Nov 1997 09:55:06 -0600', iso: '1997-11-21T15:55:06.000Z', offset: -360 },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri,        21 Nov 1997 09:55:06 -0600', iso: '1997-11-21T15:55:06.000Z', offset: -360 },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21 Nov       1997     09:55:06 -0600', iso: '1997-11-21T15:55:06.000Z', offset: -360 },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21 Nov 1997 09:55:06           CST', iso: '1997-11-21T15:55:06.000Z', offset: -360 },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21 Nov 1997 09:55:06           CST (no leading FWS and a trailing CRLF) \r\n', iso: '1997-11-21T15:55:06.000Z', offset: -360 },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21    Nov 1997    09:55:06 -0600 (MDT and non-US-ASCII signs éèç )', iso: '1997-11-21T15:55:06.000Z', offset: -360 },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21 Nov 1997 09:55:06 -0600    \r\n (thisisa(valid)cfws)   \t ', iso: '1997-11-21T15:55:06.000Z', offset: -360 },
  {
    source: `${GO} TestDateParsingCFWS`,
    input: 'Fri, 21 Nov () 1997 09:55:06 -0600    \r\n (thisisa(valid)cfws)   \t ',
    iso: '1997-11-21T15:55:06.000Z',
    offset: -360,
    note: 'Go refuses; RFC 5322 §4.3 obs-year = [CFWS] 2*DIGIT [CFWS] allows a comment before the year'
  },
  { source: `${GO} TestDateParsingCFWS`, input: 'Tue, 26 May 2020 14:04:40 GMT', iso: '2020-05-26T14:04:40.000Z', offset: 0 },
  { source: `${GO} TestDateParsingCFWS`, input: 'Tue, 26 May 2020 14:04:40 UT', iso: '2020-05-26T14:04:40.000Z', offset: 0 },
  { source: `${GO} TestDateParsingCFWS`, input: 'Thu, 21 May 2020 14:04:40 UT', iso: '2020-05-21T14:04:40.000Z', offset: 0 },
  { source: `${GO} TestDateParsingCFWS`, input: 'Thu, 21 May 2020 14:04:40 UTC', iso: '2020-05-21T14:04:40.000Z', offset: 0 },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21 Nov 1997 09:55:06 GMT (GMT)', iso: '1997-11-21T09:55:06.000Z', offset: 0 },

  { source: `${PY}/test_email.py test_parsedate_compact`, input: 'Wed, 3 Apr 2002 14:58:26 +0800', iso: '2002-04-03T06:58:26.000Z', offset: 480 },
  { source: `${PY}/test_email.py test_parsedate_compact`, input: 'Wed,3 Apr 2002 14:58:26 +0800', iso: '2002-04-03T06:58:26.000Z', offset: 480 },
  { source: `${PY}/test_email.py test_parsedate_no_dayofweek`, input: '25 Feb 2003 13:47:26 -0800', iso: '2003-02-25T21:47:26.000Z', offset: -480 },
  { source: `${PY}/test_email.py test_parsedate_compact_no_dayofweek`, input: '5 Feb 2003 13:47:26 -0800', iso: '2003-02-05T21:47:26.000Z', offset: -480 },
  { source: `${PY}/test_email.py test_parsedate_no_space_before_positive_offset`, input: 'Wed, 3 Apr 2002 14:58:26+0800', iso: '2002-04-03T06:58:26.000Z', offset: 480 },
  { source: `${PY}/test_email.py test_parsedate_no_space_before_negative_offset`, input: 'Wed, 3 Apr 2002 14:58:26-0800', iso: '2002-04-03T22:58:26.000Z', offset: -480 },
  { source: `${PY}/test_email.py test_parsedate_no_seconds`, input: 'Wed, 3 Apr 2002 14:58 +0800', iso: '2002-04-03T06:58:00.000Z', offset: 480 },
  { source: `${PY}/test_email.py test_parsedate_y2k`, input: '25 Feb 03 13:47:26 -0800', iso: '2003-02-25T21:47:26.000Z', offset: -480 },
  { source: `${PY}/test_email.py test_parsedate_y2k`, input: '25 Feb 71 13:47:26 -0800', iso: '1971-02-25T21:47:26.000Z', offset: -480 },
  { source: `${PY}/test_utils.py test_parsedate_to_datetime`, input: 'Sun, 23 Sep 2001 20:10:55 -0700', iso: '2001-09-24T03:10:55.000Z', offset: -420 },
  { source: `${PY}/test_utils.py test_parsedate_to_datetime_naive`, input: 'Sun, 23 Sep 2001 20:10:55 -0000', iso: '2001-09-23T20:10:55.000Z', offset: null },

  { source: 'RFC 5322 §4.3 (two-digit year < 50)', input: '13 Oct 49 18:02:00 +0000', iso: '2049-10-13T18:02:00.000Z', offset: 0 },
  { source: 'RFC 5322 §4.3 (two-digit year ≥ 50)', input: '13 Oct 50 18:02:00 +0000', iso: '1950-10-13T18:02:00.000Z', offset: 0 },
  { source: 'RFC 5322 §4.3 (three-digit year)', input: 'Thu, 13 Oct 111 18:02:00 +0000', iso: '2011-10-13T18:02:00.000Z', offset: 0 },
  { source: 'RFC 5322 §4.3 (obs-zone EDT)', input: 'Thu, 13 Oct 2011 18:02:00 EDT', iso: '2011-10-13T22:02:00.000Z', offset: -240 },
  { source: 'RFC 5322 §4.3 (obs-zone PDT)', input: 'Thu, 13 Oct 2011 18:02:00 PDT', iso: '2011-10-14T01:02:00.000Z', offset: -420 },
  { source: 'RFC 5322 §4.3 (obs-zone MST)', input: 'Thu, 13 Oct 2011 18:02:00 MST', iso: '2011-10-14T01:02:00.000Z', offset: -420 },
  { source: 'RFC 5322 §4.3 (military zone = -0000)', input: 'Thu, 13 Oct 2011 18:02:00 Z', iso: '2011-10-13T18:02:00.000Z', offset: null },
  { source: 'RFC 5322 §4.3 (military zone = -0000)', input: 'Thu, 13 Oct 2011 18:02:00 a', iso: '2011-10-13T18:02:00.000Z', offset: null },
  { source: 'RFC 5322 §3.3 (-0000: local offset unknown)', input: 'Thu, 13 Oct 2011 18:02:00 -0000', iso: '2011-10-13T18:02:00.000Z', offset: null },
  { source: 'RFC 5322 §3.3 (leap second, clamped to :59.999)', input: 'Sat, 31 Dec 2016 23:59:60 +0000', iso: '2016-12-31T23:59:59.999Z', offset: 0 },
  { source: 'RFC 5322 §3.3 (leap second, zone offset)', input: 'Sat, 31 Dec 2016 18:59:60 -0500', iso: '2016-12-31T23:59:59.999Z', offset: -300 },
  { source: 'RFC 5234 §2.3 (names are case-insensitive)', input: 'THU, 13 OCT 2011 18:02:00 gmt', iso: '2011-10-13T18:02:00.000Z', offset: 0 },
  { source: 'RFC 5322 §3.2.2 (nested comment)', input: 'Thu, 13 Oct 2011 18:02:00 +0000 (a (nested \\) comment))', iso: '2011-10-13T18:02:00.000Z', offset: 0 },
  { source: 'issue 4 (leap year)', input: 'Tue, 29 Feb 2000 12:00:00 +0000', iso: '2000-02-29T12:00:00.000Z', offset: 0 },
  { source: 'issue 4 (zone crosses the year)', input: 'Sat, 31 Dec 2016 23:30:00 -2359', iso: '2017-01-01T23:29:00.000Z', offset: -1439 },
  { source: 'issue 4 (zone crosses the day backwards)', input: 'Sun, 01 Jan 2017 00:30:00 +0100', iso: '2016-12-31T23:30:00.000Z', offset: 60 },
  { source: 'RFC 5322 §3.3 (zone within -9959 … +9959)', input: 'Thu, 13 Oct 2011 18:02:00 +9959', iso: '2011-10-09T14:03:00.000Z', offset: 5999 },
  { source: 'RFC 5322 §3.3 (zone within -9959 … +9959)', input: 'Thu, 13 Oct 2011 18:02:00 -9959', iso: '2011-10-17T22:01:00.000Z', offset: -5999 },
  { source: 'RFC 5322 §3.3 (zone within -9959 … +9959)', input: '13 Oct 2011 18:02 +2400', iso: '2011-10-12T18:02:00.000Z', offset: 1440 },
  {
    source: `RFC 5322 §3.3; ${PY}/test_utils.py test_parsedate_to_datetime_with_invalid_raises_valueerror`,
    input: 'Tue, 06 Jun 2017 07:39:33 +2600',
    iso: '2017-06-05T05:39:33.000Z',
    offset: 1560,
    note: 'CPython raises (its datetime offsets stop below 24 h); RFC 5322 allows up to +9959: 26 h east'
  },
  { source: 'RFC 5322 §3.3 (a real zone, Kiribati)', input: 'Thu, 13 Oct 2011 18:02:00 +1400', iso: '2011-10-13T04:02:00.000Z', offset: 840 },
  { source: 'RFC 5322 §3.3 (a real zone, Baker Island)', input: 'Thu, 13 Oct 2011 18:02:00 -1200', iso: '2011-10-14T06:02:00.000Z', offset: -720 },
  { source: 'RFC 9110 §5.6.7 (RFC 850, weekday in any case)', input: 'friday, 19-Nov-82 16:14:55 gmt', iso: '1982-11-19T16:14:55.000Z', offset: 0 }
]

const refused: Refuse[] = [
  { source: `${GO} TestDateParsingCFWS`, input: '   ', code: 'empty' },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri 21 Nov 1997 09:55:06 -0600', code: 'syntax', note: 'missing comma after the day name' },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21 Nov 1997 \r 09:55:06 -0600    \r\n (thisisa(valid)cfws)   \t ', code: 'syntax' },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21 Nov 199\r\n7  09:55:06 -0600    \r\n (thisisa(valid)cfws)   \t ', code: 'syntax', note: 'Go accepts, its comment says a strict reading of RFC 5322 refuses' },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21 Nov 1997 ù 09:55:06 -0600    \r\n (thisisa(valid)cfws)   \t ', code: 'syntax' },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21 Nov 1997 09:55:06 -060    \r\n (Thisisa(valid)cfws)   \t ', code: 'syntax' },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21  1997 09:55:06 -0600', code: 'syntax' },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21 OCT 1997 09:55:06 CST', code: 'weekday-mismatch', note: 'Go refuses the upper-case month; we accept it (RFC 5234 §2.3) but 21 Oct 1997 was a Tuesday' },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21 Nov 1997 09:55:06 -060', code: 'syntax' },
  { source: `${GO} TestDateParsingCFWS`, input: 'Fri, 21  1997 09:55:06 GT', code: 'syntax' },
  { source: `${GO} TestDateParsingCFWS`, input: 'Tue, 26 May 2020 14:04:40 XT', code: 'unknown-zone' },
  { source: `${GO} TestDateParsingCFWS`, input: 'Thu, 21 May 2020 14:04:40 XT', code: 'unknown-zone' },

  { source: `${PY}/test_email.py test_parsedate_none`, input: '', code: 'empty' },
  { source: `${PY}/test_email.py test_parsedate_returns_None_for_invalid_strings`, input: ' ', code: 'empty' },
  { source: `${PY}/test_email.py test_parsedate_returns_None_for_invalid_strings`, input: '0', code: 'syntax' },
  { source: `${PY}/test_email.py test_parsedate_returns_None_for_invalid_strings`, input: 'A Complete Waste of Time', code: 'syntax' },
  { source: `${PY}/test_email.py test_parsedate_returns_None_for_invalid_strings`, input: 'Wed, 3 Apr 2002 12.34.56.78+0800', code: 'syntax' },
  { source: `${PY}/test_email.py test_parsedate_returns_None_for_invalid_strings`, input: '17 June , 2022', code: 'syntax' },
  { source: `${PY}/test_email.py test_parsedate_returns_None_for_invalid_strings`, input: 'Friday, -Nov-82 16:14:55 EST', code: 'syntax' },
  { source: `${PY}/test_email.py test_parsedate_returns_None_for_invalid_strings`, input: 'Friday, Nov--82 16:14:55 EST', code: 'syntax' },
  { source: `${PY}/test_email.py test_parsedate_returns_None_for_invalid_strings`, input: 'Friday, 19-Nov- 16:14:55 EST', code: 'syntax' },
  { source: `${PY}/test_utils.py test_parsedate_to_datetime_with_invalid_raises_valueerror`, input: 'Tue, 06 Jun 2017 27:39:33 +0600', code: 'out-of-range' },
  {
    source: `${PY}/test_email.py test_parsedate_rfc_850`,
    input: 'Friday, 19-Nov-82 16:14:55 EST',
    code: 'syntax',
    note: 'CPython accepts; RFC 9110 §5.6.7 defines the RFC 850 form as GMT and RFC 5322 has no dd-Mon-yy date, so with EST it is neither'
  },
  { source: 'RFC 9110 §5.6.7 (RFC 850 is GMT only)', input: 'Sunday, 06-Nov-94 08:49:37 UTC', code: 'syntax' },
  { source: 'RFC 9110 §5.6.7 (RFC 850 is GMT only)', input: 'Sunday, 06-Nov-94 08:49:37 +0000', code: 'syntax' },
  { source: 'RFC 9110 §5.6.7 (RFC 850 is GMT only)', input: 'Sunday, 06-Nov-94 08:49:37 CET', code: 'syntax', note: 'not unknown-zone: the form itself is wrong' },
  { source: 'RFC 9110 §5.6.7 (RFC 850 is GMT only)', input: '06-Nov-94 08:49:37 Z', code: 'syntax' },
  { source: `${PY}/test_utils.py test_parsedate_to_datetime_with_invalid_raises_valueerror`, input: 'Tue, 06 Jun 2017 27:39:33', code: 'syntax', note: 'no zone' },
  { source: `${PY}/test_email.py test_parsedate_compact`, input: 'Wed 3 Apr 2002 14:58:26 +0800', code: 'syntax', note: 'CPython accepts; RFC 5322 needs the comma after a day name' },
  { source: `${PY}/test_email.py test_parsedate_no_dayofweek`, input: 'February 5, 2003 13:47:26 -0800', code: 'syntax', note: 'CPython accepts; not RFC 5322' },
  { source: `${PY}/test_email.py test_parsedate_accepts_time_with_dots`, input: '5 Feb 2003 13.47.26 -0800', code: 'syntax', note: 'CPython accepts; not RFC 5322' },
  { source: `${PY}/test_email.py test_parsedate_dot_time_delimiter`, input: 'Wed, 3 Apr 2002 14.58 +0800', code: 'syntax', note: 'CPython accepts; not RFC 5322' },

  { source: 'issue 4 (unknown zone, never guessed)', input: 'Thu, 13 Oct 2011 18:02:00 CET', code: 'unknown-zone' },
  { source: 'issue 4 (unknown zone, never guessed)', input: 'Thu, 13 Oct 2011 18:02:00 IST', code: 'unknown-zone' },
  { source: 'issue 4 (unknown zone, never guessed)', input: 'Thu, 13 Oct 2011 18:02:00 BST', code: 'unknown-zone' },
  { source: 'issue 4 (unknown zone, never guessed)', input: 'Thu, 13 Oct 2011 18:02:00 HLC', code: 'unknown-zone' },
  { source: 'issue 4 (unknown zone, never guessed)', input: 'Thu, 13 Oct 2011 18:02:00 AEST (Sydney)', code: 'unknown-zone' },
  { source: 'RFC 5322 §4.3 (J is not a military zone)', input: 'Thu, 13 Oct 2011 18:02:00 J', code: 'unknown-zone' },
  { source: 'issue 4 (Feb 30)', input: 'Wed, 30 Feb 2011 18:02:00 +0000', code: 'out-of-range' },
  { source: 'issue 4 (1900 is not a leap year)', input: '29 Feb 1900 00:00:00 +0000', code: 'out-of-range' },
  { source: 'issue 4 (31 April)', input: '31 Apr 2024 00:00:00 +0000', code: 'out-of-range' },
  { source: 'issue 4 (hour 24)', input: '13 Oct 2011 24:00:00 +0000', code: 'out-of-range' },
  { source: 'issue 4 (minute 60)', input: '13 Oct 2011 18:60:00 +0000', code: 'out-of-range' },
  { source: 'issue 4 (second 61)', input: '13 Oct 2011 18:02:61 +0000', code: 'out-of-range' },
  { source: 'issue 4 (zone minutes 60)', input: '13 Oct 2011 18:02:00 +0160', code: 'out-of-range' },
  { source: 'RFC 5322 §3.3 (beyond +9959)', input: '13 Oct 2011 18:02:00 +9960', code: 'out-of-range' },
  { source: 'RFC 5322 §3.3 (beyond -9959)', input: 'Thu, 13 Oct 2011 18:02:00 -9999', code: 'out-of-range' },
  { source: 'RFC 5322 §3.3 (year before 1900)', input: '13 Oct 1899 18:02:00 +0000', code: 'out-of-range' },
  { source: 'issue 4 (weekday mismatch)', input: 'Wed, 13 Oct 2011 18:02:00 +0000', code: 'weekday-mismatch' },
  { source: 'issue 4 (weekday mismatch, RFC 850)', input: 'Monday, 06-Nov-94 08:49:37 GMT', code: 'weekday-mismatch' },
  { source: 'issue 4 (weekday mismatch, asctime)', input: 'Mon Nov  6 08:49:37 1994', code: 'weekday-mismatch' },
  { source: 'issue 4 (text after the zone)', input: 'Thu, 13 Oct 2011 18:02:00 +0000 extra', code: 'syntax' },
  { source: 'issue 4 (comment not closed)', input: 'Thu, 13 Oct 2011 18:02:00 +0000 (oops', code: 'syntax' },
  { source: 'issue 4 (fraction of a second)', input: 'Thu, 13 Oct 2011 18:02:00.5 +0000', code: 'syntax' },
  { source: 'issue 4 (one-digit year)', input: '13 Oct 1 18:02:00 +0000', code: 'syntax' },
  { source: 'issue 4 (one-digit hour)', input: '13 Oct 2011 8:02:00 +0000', code: 'syntax' },
  { source: 'issue 4 (garbage)', input: '<script>', code: 'syntax' },
  { source: 'issue 4 (ISO text is not RFC 2822)', input: '2011-10-13T18:02:00Z', code: 'syntax' }
]

function describe (r: ParsedDate): string {
  return r.ok ? `ok ${r.iso} offset ${String(r.offsetMinutes)}` : `${r.code}: ${r.message}`
}

test('RFC 5322 / HTTP dates that are accepted give the exact instant and offset', () => {
  for (const row of accepted) {
    const r = parseRfc2822(row.input)
    assert.ok(r.ok, `${row.source}: ${JSON.stringify(row.input)} → ${describe(r)}`)
    assert.equal(r.iso, row.iso, `${row.source}: ${JSON.stringify(row.input)}`)
    assert.equal(r.instant, Date.parse(row.iso), row.source)
    assert.equal(r.offsetMinutes, row.offset, `${row.source}: ${JSON.stringify(row.input)} offset`)
    assert.equal(r.exact, true)
    assert.deepEqual(parseInstant(row.input), r, `${row.source}: parseInstant agrees`)
  }
})

test('RFC 5322 / HTTP dates that are refused give a typed error naming the problem', () => {
  for (const row of refused) {
    const r = parseRfc2822(row.input)
    assert.ok(!r.ok, `${row.source}: ${JSON.stringify(row.input)} should be refused, got ${describe(r)}`)
    assert.equal(r.code, row.code, `${row.source}: ${JSON.stringify(row.input)} → ${r.message}`)
    assert.equal(r.raw, row.input)
    assert.ok(r.message.length > 0)
  }
})

test('an unknown zone is named in the message and is never guessed', () => {
  const r = parseRfc2822('Thu, 13 Oct 2011 18:02:00 CET')
  assert.equal(r.ok, false)
  assert.ok(!r.ok && r.message.includes('"CET"'), describe(r))
})

test('the zone table is exactly RFC 5322 §4.3 plus UTC', () => {
  assert.deepEqual(Object.keys(ZONES).filter((k) => k.length > 1).sort(),
    ['CDT', 'CST', 'EDT', 'EST', 'GMT', 'MDT', 'MST', 'PDT', 'PST', 'UT', 'UTC'])
  assert.equal(Object.keys(ZONES).filter((k) => k.length === 1).length, 25)
  for (const [name, offset] of Object.entries(ZONES)) {
    const r = parseRfc2822(`Thu, 13 Oct 2011 18:02:00 ${name}`)
    assert.ok(r.ok, name)
    assert.equal(r.offsetMinutes, offset, name)
  }
})

test('a weekday mismatch message says which weekday the date has', () => {
  const r = parseRfc2822('Wed, 13 Oct 2011 18:02:00 +0000')
  assert.ok(!r.ok && r.code === 'weekday-mismatch' && r.message.includes('Thu'), describe(r))
})

test('the parsers never throw on non-string input', () => {
  for (const v of [undefined, null, 42, {}, [], Symbol('x'), Object.create(null)]) {
    for (const parse of [parseRfc2822, parseIso8601, parseInstant]) {
      const r = parse(v as unknown as string)
      assert.equal(r.ok, false)
      assert.ok(!r.ok && r.code === 'syntax')
    }
  }
})

const iso: Accept[] = [
  { source: 'RFC 3339 §5.8', input: '1985-04-12T23:20:50.52Z', iso: '1985-04-12T23:20:50.520Z', offset: 0 },
  { source: 'RFC 3339 §5.8', input: '1996-12-19T16:39:57-08:00', iso: '1996-12-20T00:39:57.000Z', offset: -480 },
  { source: 'RFC 3339 §5.8 (leap second, clamped)', input: '1990-12-31T23:59:60Z', iso: '1990-12-31T23:59:59.999Z', offset: 0 },
  { source: 'RFC 3339 §5.8 (leap second, clamped)', input: '1990-12-31T15:59:60-08:00', iso: '1990-12-31T23:59:59.999Z', offset: -480 },
  { source: 'RFC 3339 §5.8', input: '1937-01-01T12:00:27.87+00:20', iso: '1937-01-01T11:40:27.870Z', offset: 20 },
  { source: 'RFC 3339 §4.3 (-00:00: local offset unknown)', input: '2026-11-26T16:18:19-00:00', iso: '2026-11-26T16:18:19.000Z', offset: null },
  { source: 'CONTRACT.md (record times)', input: '2026-11-26T16:18:19.000Z', iso: '2026-11-26T16:18:19.000Z', offset: 0 },
  { source: 'issue 4', input: '2026-11-26T16:18:19Z', iso: '2026-11-26T16:18:19.000Z', offset: 0 },
  { source: 'issue 4', input: '2026-11-26T16:18:19.123+01:00', iso: '2026-11-26T15:18:19.123Z', offset: 60 },
  { source: 'ISO 8601 (fraction beyond ms is truncated)', input: '2026-11-26T16:18:19.123999Z', iso: '2026-11-26T16:18:19.123Z', offset: 0 },
  { source: 'ISO 8601 (comma decimal sign)', input: '2026-11-26T16:18:19,5Z', iso: '2026-11-26T16:18:19.500Z', offset: 0 },
  { source: 'ISO 8601 (no seconds, basic offset)', input: '2026-11-26T16:18+0530', iso: '2026-11-26T10:48:00.000Z', offset: 330 },
  { source: 'ISO 8601 (hour-only offset)', input: '2026-11-26t16:18:19-03', iso: '2026-11-26T19:18:19.000Z', offset: -180 },
  { source: 'RFC 3339 §5.6 note (space separator)', input: '2026-11-26 16:18:19z', iso: '2026-11-26T16:18:19.000Z', offset: 0 }
]

const isoRefused: Refuse[] = [
  { source: 'issue 4 (zone required)', input: '2026-11-26T16:18:19', code: 'syntax' },
  { source: 'issue 4 (zone required)', input: '2026-11-26T16:18:19.123', code: 'syntax' },
  { source: 'issue 4 (date only)', input: '2026-11-26', code: 'syntax' },
  { source: 'issue 4', input: '', code: 'empty' },
  { source: 'issue 4', input: '2026-02-30T00:00:00Z', code: 'out-of-range' },
  { source: 'issue 4', input: '2026-13-01T00:00:00Z', code: 'out-of-range' },
  { source: 'issue 4', input: '2026-11-26T24:00:00Z', code: 'out-of-range' },
  { source: 'issue 4', input: '2026-11-26T16:18:19+24:00', code: 'out-of-range' },
  { source: 'issue 4', input: '2026-11-26T16:18:19Z junk', code: 'syntax' },
  { source: 'issue 4', input: '2026-11-26T16:18:19.Z', code: 'syntax' },
  { source: 'issue 4 (basic format)', input: '20261126T161819Z', code: 'syntax' }
]

test('ISO 8601 inputs give the exact instant; a missing zone is refused with a message saying so', () => {
  for (const row of iso) {
    const r = parseIso8601(row.input)
    assert.ok(r.ok, `${row.source}: ${JSON.stringify(row.input)} → ${describe(r)}`)
    assert.equal(r.iso, row.iso, row.source)
    assert.equal(r.offsetMinutes, row.offset, row.source)
    assert.deepEqual(parseInstant(row.input), r)
  }
  for (const row of isoRefused) {
    const r = parseIso8601(row.input)
    assert.ok(!r.ok, `${row.source}: ${JSON.stringify(row.input)} → ${describe(r)}`)
    assert.equal(r.code, row.code, `${row.source}: ${JSON.stringify(row.input)} → ${r.message}`)
    assert.deepEqual(parseInstant(row.input), r)
  }
  const noZone = parseIso8601('2026-11-26T16:18:19')
  assert.ok(!noZone.ok && /zone/.test(noZone.message), describe(noZone))
})
