#!/bin/sh
# Prints every option with its default, as `sekisho config dump` shows it;
# docs/configuration.md describes each one (a unit test checks it names all).
exec "${1:-build}/sekisho" config dump
