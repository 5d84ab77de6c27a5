#!/usr/bin/perl
# make_geo_mmdb.pl OUT.mmdb - a small GeoIP2-City-shaped MaxMind DB for the
# tests, written with MaxMind::DB::Writer (Debian libmaxmind-db-writer-perl).
# Documentation networks stand for places:
#   192.0.2.0/24     JP  Tokyo      35.68 139.69
#   198.51.100.0/24  JP  Osaka      34.69 135.50
#   203.0.113.0/24   US  New York   40.71 -74.01
#   100.64.0.0/16    FR  Paris      48.86   2.35
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: $0 OUT.mmdb\n";
my %types = (
	country => 'map', iso_code => 'utf8_string',
	location => 'map', latitude => 'double', longitude => 'double',
);
my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version => 4,
	record_size => 24,
	database_type => 'GeoIP2-City',
	languages => ['en'],
	description => { en => 'sekisho test data' },
	remove_reserved_networks => 0,
	map_key_type_callback => sub { $types{ $_[0] } },
);
my @nets = (
	['192.0.2.0/24', 'JP', 35.68, 139.69],
	['198.51.100.0/24', 'JP', 34.69, 135.50],
	['203.0.113.0/24', 'US', 40.71, -74.01],
	['100.64.0.0/16', 'FR', 48.86, 2.35],
);
for my $n (@nets) {
	$tree->insert_network($n->[0], {
		country => { iso_code => $n->[1] },
		location => { latitude => $n->[2], longitude => $n->[3] },
	});
}
open(my $fh, '>:raw', $out) or die "$out: $!\n";
$tree->write_tree($fh);
close($fh) or die "$out: $!\n";
