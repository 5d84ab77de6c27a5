/*
 * VBA that runs by itself and then starts a program or downloads one:
 * the shape of Emotet, Dridex and IcedID document droppers.  sekisho runs
 * YARA over the decompressed VBA source of every macro document (the
 * "(VBA source)" view), so these strings are plain text there.
 */
rule VBA_AutoExec_Dropper
{
	meta:
		description = "a macro that runs on open and starts a program or downloads a file"
		score = 5
	strings:
		$auto1 = "AutoOpen" nocase
		$auto2 = "Auto_Open" nocase
		$auto3 = "Document_Open" nocase
		$auto4 = "Workbook_Open" nocase
		$auto5 = "AutoClose" nocase
		$auto6 = "Document_Close" nocase
		$auto7 = "Auto_Close" nocase
		$run1 = "WScript.Shell" nocase
		$run2 = "Shell(" nocase
		$run3 = "powershell" nocase
		$run4 = "URLDownloadToFile" nocase
		$run5 = "MSXML2.XMLHTTP" nocase
		$run6 = "ADODB.Stream" nocase
		$run7 = "Win32_Process" nocase
		$run8 = "mshta" nocase
		$run9 = "regsvr32" nocase
		$run10 = "rundll32" nocase
		$attr = "Attribute VB_" nocase
	condition:
		$attr and any of ($auto*) and any of ($run*)
}

rule VBA_Obfuscated_Shell
{
	meta:
		description = "a macro that builds strings from character codes and runs them"
		score = 5
	strings:
		$attr = "Attribute VB_" nocase
		$chr = /Chr[W$]?\(\s*\d{2,3}\s*\)\s*&\s*Chr[W$]?\(/ nocase
		$run1 = "CreateObject" nocase
		$run2 = "Shell" nocase
		$run3 = "CallByName" nocase
	condition:
		$attr and #chr > 5 and any of ($run*)
}
