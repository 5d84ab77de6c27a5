/*
 * Containers of the post-macro era (2022-2024): shortcuts that start a
 * shell, OneNote notebooks with an embedded script, and scripts that fetch
 * and run a second stage.
 */
rule LNK_Runs_Shell
{
	meta:
		description = "a Windows shortcut (.lnk) that runs PowerShell, cmd, mshta or a LOLBin"
		score = 5
	strings:
		$p1 = "powershell" nocase ascii wide
		$p2 = "cmd.exe" nocase ascii wide
		$p3 = "mshta" nocase ascii wide
		$p4 = "rundll32" nocase ascii wide
		$p5 = "regsvr32" nocase ascii wide
		$p6 = "wscript" nocase ascii wide
		$p7 = "cscript" nocase ascii wide
		$p8 = "certutil" nocase ascii wide
		$p9 = "bitsadmin" nocase ascii wide
		$p10 = "curl" nocase ascii wide
	condition:
		uint32(0) == 0x0000004C and uint32(4) == 0x00021401 and any of them
}

rule OneNote_Embedded_Script
{
	meta:
		description = "a OneNote file with an embedded script, shortcut or executable"
		score = 5
	strings:
		$file_data = { E7 16 E3 BD 65 26 11 45 A4 C4 8D 4D 0B 7A 9E AC }
		$s1 = ".hta" nocase ascii wide
		$s2 = ".vbs" nocase ascii wide
		$s3 = ".js\x00" nocase ascii wide
		$s4 = ".bat" nocase ascii wide
		$s5 = ".cmd" nocase ascii wide
		$s6 = ".wsf" nocase ascii wide
		$s7 = ".lnk" nocase ascii wide
		$s8 = ".exe" nocase ascii wide
		$s9 = ".ps1" nocase ascii wide
		$mz = { 4D 5A 90 00 }
	condition:
		uint32be(0) == 0xE4525C7B and $file_data and any of ($s*, $mz)
}

rule Script_Downloader
{
	meta:
		description = "a script that downloads and runs a file (JScript, VBScript, PowerShell, batch)"
		score = 6
	strings:
		$sh1 = "WScript.Shell" nocase ascii wide
		$sh2 = "Shell.Application" nocase ascii wide
		$sh3 = "Start-Process" nocase ascii wide
		$sh4 = "Invoke-Expression" nocase ascii wide
		$sh5 = "IEX(" nocase ascii wide
		$dl1 = "MSXML2.XMLHTTP" nocase ascii wide
		$dl2 = "WinHttp.WinHttpRequest" nocase ascii wide
		$dl3 = "ADODB.Stream" nocase ascii wide
		$dl4 = "DownloadFile" nocase ascii wide
		$dl5 = "DownloadString" nocase ascii wide
		$dl6 = "Invoke-WebRequest" nocase ascii wide
		$dl7 = "bitsadmin /transfer" nocase ascii wide
	condition:
		filesize < 5MB and any of ($sh*) and any of ($dl*)
}
