/*
 * HTML smuggling: an HTML (or SVG) file that carries a payload as a string
 * and makes the browser save it as a file (QakBot, IcedID, NOBELIUM ISO
 * droppers, 2021-2024).  Strings are matched case-insensitively; the
 * decoded payload itself is scanned separately by sekisho.
 */
rule HTML_Smuggling_Blob_Download
{
	meta:
		description = "HTML builds a Blob from an encoded string and offers it for download"
		score = 5
	strings:
		$blob = "new Blob(" nocase
		$b64 = "atob(" nocase
		$u8 = "Uint8Array" nocase
		$url = "createObjectURL" nocase
		$dl1 = ".download" nocase
		$dl2 = "setAttribute(\"download\"" nocase
		$dl3 = "setAttribute('download'" nocase
		$save = "msSaveOrOpenBlob" nocase
		$html = "<html" nocase
		$svg = "<svg" nocase
	condition:
		filesize < 50MB and ($html or $svg) and
		($save or ($blob and $url and any of ($dl*) and ($b64 or $u8)))
}

rule HTML_Smuggling_Data_URI_Executable
{
	meta:
		description = "a download link whose data: URL holds an executable, an ISO or an archive"
		score = 5
	strings:
		$data = /href\s*=\s*["']data:application\/(octet-stream|x-msdownload|x-iso9660-image|zip|x-zip-compressed|vnd\.ms-|hta)[^"']{0,80}base64,/ nocase
		$dl1 = /<a[^>]{1,200}download/ nocase
		$dl2 = ".download" nocase
	condition:
		filesize < 50MB and $data and any of ($dl*)
}
