from lxml import etree, html
root = etree.fromstring(b"<r><a k='1'>x</a><a k='2'>y</a></r>")
print(root.xpath("//a[@k='2']/text()"), etree.tostring(root, method="c14n").decode())
doc = html.fromstring("<p>Hi <b>there</b></p>")
print(doc.text_content())
xslt = etree.XSLT(etree.XML(b"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/"><out><xsl:value-of select="count(//a)"/></out></xsl:template></xsl:stylesheet>"""))
print(str(xslt(root)).strip())
