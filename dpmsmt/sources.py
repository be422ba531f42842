"""The documents behind the rules (rules.md, "Sources"): id -> title and address."""

from __future__ import annotations

from dpmsmt.builds import BUILD_SOURCES

SOURCES: dict[str, dict[str, str]] = {
    "seed": {
        "title": "Set up secondary servers, System Center 2012 DPM (the seed)",
        "url": "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
    },
    "S1": {
        "title": "Setting up DPM Chaining (DPM 2010)",
        "url": "https://docs.microsoft.com/en-us/previous-versions/system-center/data-protection-manager-2010/gg410636(v=technet.10)",
    },
    "S2": {
        "title": "Set up secondary servers (SC 2012 DPM)",
        "url": "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
    },
    "S3": {
        "title": "Back up DPM using a secondary server (SC 2012 DPM)",
        "url": "https://github.com/MicrosoftDocs/SystemCenterDocs",
    },
    "S4": {
        "title": "Recover a backed up DPM server (SC 2012 DPM)",
        "url": "https://github.com/MicrosoftDocs/SystemCenterDocs",
    },
    "S5": {
        "title": "Backup methods for the DPM database (SC 2012 R2)",
        "url": "https://github.com/MicrosoftDocs/SystemCenterDocs",
    },
    "S7": {
        "title": "Back up the DPM server (2016–2019)",
        "url": "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    },
    "S8": {
        "title": "What's supported and what isn't for DPM (2016–2025)",
        "url": "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
    },
    "S9": {
        "title": "Support matrix for backup with MABS or DPM",
        "url": "https://learn.microsoft.com/en-us/azure/backup/backup-support-matrix-mabs-dpm",
    },
    "S10": {
        "title": "Back up files and applications on Azure Stack Hub",
        "url": "https://learn.microsoft.com/en-us/azure/architecture/hybrid/azure-stack-backup",
    },
    "S11": {
        "title": "Back up the MABS server",
        "url": "https://learn.microsoft.com/en-us/azure/backup/backup-the-mabs-server",
    },
    "S13": {
        "title": "Managing protection agents (SC 2012 R2)",
        "url": "https://docs.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/dn903639(v=sc.12)",
    },
    "S15": {
        "title": "DPM error codes (270, 302)",
        "url": "https://github.com/MicrosoftDocs/SupportArticles-docs/blob/main/support/system-center/dpm/vnext-dpm-error-codes.md",
    },
    "S16": {
        "title": "Backup of deduplicated volumes fails on a secondary DPM 2016 server (KB 4037310)",
        "url": "https://github.com/MicrosoftDocs/SupportArticles-docs",
    },
    "S17": {
        "title": "New databases not automatically added (KB 4456296)",
        "url": "https://github.com/MicrosoftDocs/SupportArticles-docs",
    },
    "S18": {
        "title": "Release notes for System Center 2016, DPM section",
        "url": "https://github.com/MicrosoftDocs/SystemCenterDocs",
    },
    "S19": {
        "title": "Workgroup and untrusted-domain support (SC 2012 R2 DPM)",
        "url": "https://github.com/MicrosoftDocs/SystemCenterDocs",
    },
    "S20": {
        "title": "Start-DPMSwitchProtection",
        "url": "https://learn.microsoft.com/en-us/powershell/module/dataprotectionmanager/start-dpmswitchprotection",
    },
    "S23": {
        "title": "Get ready to deploy DPM servers",
        "url": "https://learn.microsoft.com/en-us/system-center/dpm/plan-dpm-deployment",
    },
    "S27": {
        "title": "About DPM 2010 scalability (DPM team blog, 2010)",
        "url": "https://techcommunity.microsoft.com/t5/system-center-blog/about-dpm2010-scalability-and-new-features/ba-p/341480",
    },
    "S28": {
        "title": "SQL Server backup with DPM/MABS (co-location limits)",
        "url": "https://learn.microsoft.com/en-us/azure/backup/backup-azure-backup-sql",
    },
    "S34": {
        "title": "DPM protection matrix, cluster-support note",
        "url": "https://learn.microsoft.com/en-us/system-center/dpm/dpm-protection-matrix",
    },
    "S35": {
        "title": "Use DPM to back up and restore VMware virtual machines (2019-2025; older text: 2012 R2 UR11, 1801, 1807)",
        "url": "https://learn.microsoft.com/en-us/system-center/dpm/back-up-vmware",
    },
    "S36": {
        "title": "Upgrade DPM 2012 R2 to DPM 2016 with VMware VM protection (KB 4039285: DPM 2016 does not support VMware VM backup)",
        "url": "https://learn.microsoft.com/en-us/troubleshoot/system-center/dpm/upgrade-dpm-vmware-vm-protection",
    },
    "S37": {
        "title": "Troubleshoot SharePoint protection and recovery, secondary DPM server (System Center 2012 DPM)",
        "url": "https://github.com/MicrosoftDocs/SystemCenterDocs (Troubleshoot-SharePoint-Protection-and-Recovery.md, SC 2012 DPM)",
    },
    "S38": {
        "title": "DPM 2010 consistency check fails with error 0x80070005 (KB 2506326)",
        "url": "https://learn.microsoft.com/en-us/troubleshoot/system-center/dpm/consistency-check-error-0x80070005",
    },
}

# The build lists behind dpmsmt's table of builds (BUILD-KNOWN; names in findings and plans).
SOURCES.update(BUILD_SOURCES)
